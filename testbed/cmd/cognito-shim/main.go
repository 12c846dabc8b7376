// Command cognito-shim serves the test bed's Cognito shim on loopback in
// front of cognito-local. See package cognitoshim.
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"os"

	"github.com/poolmigrate/poolmigrate/testbed/cognitoshim"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9230", "address to listen on (keep it on loopback)")
	upstream := flag.String("upstream", "http://127.0.0.1:9229", "cognito-local's endpoint")
	rps := flag.Float64("userlist-rps", 0, "answer TooManyRequestsException above this many ListUsers/ListUsersInGroup calls a second (0: no limit; AWS: 30)")
	throttle := flag.String("throttle", "aws", "aws: answer TooManyRequestsException above AWS's default request quotas; off: never")
	short := flag.Int("short-pages", cognitoshim.DefaultShortEvery, "every n-th page of a listing, from the 2nd, holds half its Limit and a token (0: never)")
	tokenKey := flag.String("token-key", "", "cognito-local's key file (lib/keys/cognitoLocal.private.json): the shim signs the tokens of custom sign-ins with it")
	flag.Parse()

	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		log.Fatalf("cognito-shim: -addr %s: %v", *addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		log.Fatalf("cognito-shim: -addr %s is not a loopback address", *addr)
	}
	opts := []cognitoshim.Option{cognitoshim.WithUserListRPS(*rps), cognitoshim.WithShortPages(*short)}
	switch *throttle {
	case "aws":
	case "off":
		opts = append(opts, cognitoshim.WithThrottle())
	default:
		log.Fatalf("cognito-shim: -throttle %s: aws or off", *throttle)
	}
	if *tokenKey != "" {
		key, err := os.ReadFile(*tokenKey)
		if err != nil {
			log.Fatalf("cognito-shim: -token-key: %v", err)
		}
		opts = append(opts, cognitoshim.WithTokenKey(key))
	}
	srv := cognitoshim.New(*upstream, opts...)
	log.Printf("cognito-shim: listening on http://%s, forwarding to %s", *addr, *upstream)
	log.Fatal(http.ListenAndServe(*addr, srv))
}
