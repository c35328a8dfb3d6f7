// Command release keeps the modules of this repository releasable: every
// module requires the in-repository modules at one real version (what a
// consumer resolves; replace directives only serve development), and a
// release tags every published module with its path prefix, all or none.
//
// Run from the repository root (make does):
//
//	go run ./tools/release check            requirements consistent, go directives aligned
//	go run ./tools/release tidy             go mod tidy with the replaces and with the requirements alone
//	go run ./tools/release apicheck         exported-API changes against each module's last tag
//	go run ./tools/release tag [-dry-run] vX.Y.Z
//
// The tools module is run with -C tools, so paths are relative to the root
// given with -root.
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	root := flag.String("root", ".", "the repository root")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: release [-root dir] check | tidy | apicheck | tag [-dry-run] vX.Y.Z")
	}
	flag.Parse()
	if flag.NArg() < 1 {
		flag.Usage()
		os.Exit(2)
	}
	var err error
	switch cmd, args := flag.Arg(0), flag.Args()[1:]; cmd {
	case "check":
		err = checkCommand(*root)
	case "tidy":
		err = tidyCommand(*root)
	case "apicheck":
		err = apiCheckCommand(*root)
	case "tag":
		err = tagCommand(*root, args)
	default:
		flag.Usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}
