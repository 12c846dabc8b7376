package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"os/exec"
	"strings"
)

// storageVerifyReport is the part of `poolmigrate storage verify --json`
// the demo shows.
type storageVerifyReport struct {
	OK             bool     `json:"ok"`
	Route          string   `json:"route"`
	Unmapped       []string `json:"unmapped"`
	UnknownFolders int      `json:"unknownFolders"`
	Linked         int      `json:"linked"`
	NotLinked      []string `json:"notLinked"`
	Buckets        []struct {
		Bucket  string `json:"bucket"`
		Objects int64  `json:"objects"`
		Users   int    `json:"users"`
		Failing []struct {
			User string `json:"user"`
		} `json:"failing"`
	} `json:"buckets"`
}

// storageVerify runs `poolmigrate storage verify --json` with the route's
// flags (args) as a user runs it after the migration, prints its outcome
// in one line and stops the demo when it is not clean.
func storageVerify(bin, dir string, env []string, route string, args ...string) {
	args = append([]string{"storage", "verify", "--json"}, args...)
	fmt.Printf("\n$ poolmigrate %s\n", strings.Join(args, " "))
	cmd := exec.Command(bin, args...)
	var out bytes.Buffer
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, &out, os.Stderr
	cmd.Env = append(os.Environ(), env...)
	runErr := cmd.Run()
	var rep storageVerifyReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		log.Fatalf("demo: storage verify (%s): %v (its output: %q; %v)", route, err, out.String(), runErr)
	}
	if rep.Route != route {
		log.Fatalf("demo: storage verify verified route %q, not %s", rep.Route, route)
	}
	compared, objects := 0, int64(0)
	var failing []string
	for _, b := range rep.Buckets {
		compared, objects = max(compared, b.Users), objects+b.Objects
		for _, f := range b.Failing {
			failing = append(failing, f.User+": files missing or different in "+b.Bucket)
		}
	}
	for _, u := range rep.NotLinked {
		failing = append(failing, u+": not linked")
	}
	if rep.UnknownFolders > 0 {
		for _, u := range rep.Unmapped {
			failing = append(failing, fmt.Sprintf("%s: not done, with %d identity folders no verified user has", u, rep.UnknownFolders))
		}
	}
	if runErr != nil || !rep.OK {
		fmt.Printf("storage verify (%s): NOT clean: %s\n", route, strings.Join(failing, "; "))
		log.Fatalf("demo: storage verify (%s) is not clean (%v): %s", route, runErr, strings.Join(failing, "; "))
	}
	done := fmt.Sprintf("%d users' files under their new identity id (%d objects compared)", compared, objects)
	if route == "link" {
		done = fmt.Sprintf("%d users linked to the identity they had (nothing moved), %d copied before the link (%d objects compared)", rep.Linked, compared, objects)
	}
	rest := ""
	if len(rep.Unmapped) > 0 {
		rest = fmt.Sprintf("; %d migrated users not done (%s): no file lies under an identity no verified user has", len(rep.Unmapped), strings.Join(rep.Unmapped, ", "))
	}
	fmt.Printf("storage verify (%s): clean: %s%s\n", route, done, rest)
}
