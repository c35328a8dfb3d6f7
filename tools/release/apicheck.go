package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/semver"
)

// gorelease is the pinned API checker; it is installed only once a module has a
// release tag, so CI downloads nothing before the first release.
const gorelease = "golang.org/x/exp/cmd/gorelease@v0.0.0-20261113113407-e3970619a1a4"

// apiCheckCommand reports, for every published module, the exported-API
// changes since its latest release tag (gorelease), or that it has none
// yet. gorelease sees each module as its next release would be published:
// unpacked from its zip, requiring the other in-repository modules at the
// next version, served from the working tree (see consumer); the base
// version comes from the module proxy.
func apiCheckCommand(root string) error {
	repo, err := readRepository(root)
	if err != nil {
		return err
	}
	bases := map[string]string{}
	for _, m := range repo.Modules {
		if !m.Published() {
			continue
		}
		base, err := latestTag(root, m)
		if err != nil {
			return err
		}
		if base == "" {
			fmt.Printf("== api %s: no release tag %sv* yet, nothing to compare\n", m.Path, m.TagPrefix())
			continue
		}
		bases[m.Path] = base
	}
	if len(bases) == 0 {
		return nil
	}
	next, err := nextVersion(repo)
	if err != nil {
		return err
	}
	c, err := newConsumer(repo, next)
	if err != nil {
		return err
	}
	defer c.Close()
	bin := filepath.Join(c.dir, "bin")
	if out, err := goCommand(root, []string{"GOBIN=" + bin}, "install", gorelease); err != nil {
		return fmt.Errorf("go install %s: %w\n%s", gorelease, err, out)
	}
	var failed []error
	for _, m := range repo.Modules {
		base, ok := bases[m.Path]
		if !ok {
			continue
		}
		fmt.Printf("== api %s: changes since %s\n", m.Path, base)
		dir, _, err := c.unpack(m)
		if err != nil {
			return err
		}
		out, err := goCommand(dir, c.env, "mod", "tidy")
		if err == nil {
			out, err = command(dir, c.env, filepath.Join(bin, "gorelease"), "-base="+base)
		}
		fmt.Print(out)
		if err != nil {
			failed = append(failed, fmt.Errorf("%s: gorelease -base=%s: %w", m.Dir, base, err))
		}
	}
	return errors.Join(failed...)
}

// latestTag is the highest release version tagged for m, or "".
func latestTag(root string, m repoModule) (string, error) {
	out, err := git(root, "tag", "--list", m.TagPrefix()+"v*")
	if err != nil {
		return "", err
	}
	var versions []string
	for _, tag := range strings.Fields(out) {
		v := strings.TrimPrefix(tag, m.TagPrefix())
		if semver.IsValid(v) && !strings.Contains(v, "/") {
			versions = append(versions, v)
		}
	}
	if len(versions) == 0 {
		return "", nil
	}
	slices.SortFunc(versions, semver.Compare)
	return versions[len(versions)-1], nil
}
