// Command tokenmint-package builds the token function's deployment
// package for scripts/package.sh, from exactly the files a poolmigrate
// binary embeds as the function's source (tokenmint/deploy.SourceFiles of
// the module in the working folder), as `storage copy` would build it:
//
//	go run ./cmd/tokenmint-package --arch arm64 --out DIR    # DIR/tokenmint.zip
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/poolmigrate/poolmigrate/tokenmint/deploy"
)

func main() {
	arch := flag.String("arch", "arm64", "Lambda architecture: arm64 or amd64")
	out := flag.String("out", "", "folder for bootstrap and tokenmint.zip")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: tokenmint-package --arch arm64|amd64 --out DIR")
		os.Exit(2)
	}
	b, err := deploy.BuildEmbedded(context.Background(), os.DirFS("."), *out, *arch)
	if err != nil {
		fmt.Fprintf(os.Stderr, "tokenmint-package: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%s sha256 %s\n", b.Zip, b.SHA256)
}
