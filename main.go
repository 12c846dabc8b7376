// Command poolmigrate moves an Amplify app (Gen 1 or Gen 2) to a new Cognito user pool:
// it backs up and exports users, re-points the backend, imports users and
// remaps every owner field in DynamoDB. See README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/poolmigrate/poolmigrate/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	app := cli.NewApp()
	app.TriggerSource = triggerSource
	app.TokenmintSource = tokenmintSource
	err := app.Run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "poolmigrate:", err)
	}
	os.Exit(cli.ExitCode(err))
}
