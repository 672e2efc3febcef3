// compose-check loads Compose files with the Compose specification's own loader (compose-go, the
// library `docker compose` uses) and fails on anything it refuses: unknown fields, wrong types, bad
// interpolation, references to undefined services, networks or volumes.
//
//	compose-check FILE...
//
// Each file is loaded on its own, with the process environment for interpolation (as `docker compose`
// would see it with no .env file). On success it prints the services found; on failure it prints the
// loader's error (which names the offending field) and exits 1. Paths in the file are not required to
// exist: bind-mount sources such as a generated nats-auth folder are created by the user first.
package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: compose-check FILE...")
		os.Exit(2)
	}
	failed := false
	for _, file := range os.Args[1:] {
		if err := check(file); err != nil {
			fmt.Fprintf(os.Stderr, "compose-check: %s: %v\n", file, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

func check(file string) error {
	opts, err := cli.NewProjectOptions(
		[]string{file},
		cli.WithOsEnv,
		cli.WithName("compose-check"),
		cli.WithResolvedPaths(true),
		cli.WithConsistency(true),
	)
	if err != nil {
		return err
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		return err
	}
	names := project.ServiceNames()
	sort.Strings(names)
	fmt.Printf("compose-check: %s: ok (%d services: %s)\n", file, len(names), strings.Join(names, ", "))
	return nil
}
