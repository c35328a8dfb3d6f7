package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// checkCommand fails unless the modules' requirements on each other are
// consistent (see check).
func checkCommand(root string) error {
	repo, version, err := readChecked(root)
	if err != nil {
		return err
	}
	fmt.Printf("%d modules consistent: in-repository requirements at %s, go %s\n", len(repo.Modules), version, repo.Modules[0].File.Go.Version)
	return nil
}

// readChecked reads the repository at root and checks it: it returns the
// modules and the version they require each other at.
func readChecked(root string) (repository, string, error) {
	repo, err := readRepository(root)
	if err != nil {
		return repo, "", err
	}
	version, err := check(repo, "")
	return repo, version, err
}

// check returns the one version every module requires the in-repository
// modules at (want, if not empty), or every way the modules are
// inconsistent:
//   - a module path that is not the core's path plus the directory (its
//     tags would not be found);
//   - an in-repository requirement at another version, a pseudo-version or
//     v0.0.0 (what a consumer cannot resolve);
//   - an in-repository requirement without a replace to its directory
//     (development would download the released version instead of using
//     the working tree), or a replace to the wrong directory;
//   - a published module with any other replace (consumers ignore it, so
//     they would build something else than what was tested), or one that
//     requires an unpublished module;
//   - a published module whose go directive differs from the core's, or an
//     unpublished one below it;
//   - a published module without a LICENSE identical to the root's: the
//     module proxy packs only a module's own directory, and pkg.go.dev shows
//     a licence only from the module's zip.
func check(repo repository, want string) (string, error) {
	var problems []error
	problem := func(m repoModule, format string, args ...any) {
		problems = append(problems, fmt.Errorf("%s/go.mod: %s", m.Dir, fmt.Sprintf(format, args...)))
	}
	core := repo.Modules[0]
	versions := map[string][]string{} // version -> where it is required
	for _, m := range repo.Modules {
		if m.Dir != "." && m.Path != corePath+"/"+m.Dir {
			problem(m, "module %s should be %s/%s: the tag prefix is the directory", m.Path, corePath, m.Dir)
		}
		for _, r := range m.File.Require {
			dep, ok := repo.inRepo(r.Mod.Path)
			if !ok {
				continue
			}
			v := r.Mod.Version
			switch {
			case !semver.IsValid(v) || module.IsPseudoVersion(v) || v == "v0.0.0":
				problem(m, "requires %s %s: not a release version a consumer can resolve", r.Mod.Path, v)
			case want != "" && v != want:
				problem(m, "requires %s %s, want %s", r.Mod.Path, v, want)
			}
			versions[v] = append(versions[v], m.Dir+" → "+r.Mod.Path)
			if m.Published() && !dep.Published() {
				problem(m, "a published module requires the unpublished %s", dep.Path)
			}
			i := slices.IndexFunc(m.File.Replace, func(rp *modfile.Replace) bool { return rp.Old.Path == dep.Path })
			if i < 0 {
				problem(m, "requires %s without replace %s => %s", dep.Path, dep.Path, relativeDir(m, dep))
			}
		}
		for _, rp := range m.File.Replace {
			dep, ok := repo.inRepo(rp.Old.Path)
			switch {
			case !ok && m.Published():
				problem(m, "replace %s: consumers ignore it, so they would not build what was tested", rp.Old.Path)
			case !ok:
			case rp.Old.Version != "" || rp.New.Version != "" || !sameDir(rp.New.Path, relativeDir(m, dep)):
				problem(m, "replace %s => %s %s, want => %s", rp.Old.Path, rp.New.Path, rp.New.Version, relativeDir(m, dep))
			}
		}
		if m.Published() && m.Dir != "." {
			if err := sameLicense(repo.Root, m.Dir); err != nil {
				problem(m, "%v", err)
			}
		}
		if m.File.Go == nil {
			problem(m, "no go directive")
			continue
		}
		coreGo := "v" + core.File.Go.Version
		switch goV := "v" + m.File.Go.Version; {
		case m.Published() && semver.Compare(goV, coreGo) != 0:
			problem(m, "go %s: a published module says what the core says (go %s)", m.File.Go.Version, core.File.Go.Version)
		case semver.Compare(goV, coreGo) < 0:
			problem(m, "go %s: below the core's go %s", m.File.Go.Version, core.File.Go.Version)
		}
	}
	if len(versions) > 1 {
		for v, where := range versions {
			problems = append(problems, fmt.Errorf("%s required by %v", v, where))
		}
		problems = append(problems, errors.New("the in-repository modules are required at more than one version"))
	}
	if len(versions) == 0 {
		problems = append(problems, errors.New("no module requires another: nothing to check"))
	}
	if len(problems) > 0 {
		return "", errors.Join(problems...)
	}
	for v := range versions {
		return v, nil
	}
	return "", nil
}

// sameLicense fails unless dir holds a copy of the root's LICENSE.
func sameLicense(root, dir string) error {
	want, err := os.ReadFile(filepath.Join(root, "LICENSE"))
	if err != nil {
		return err
	}
	got, err := os.ReadFile(filepath.Join(root, dir, "LICENSE"))
	if err != nil || !bytes.Equal(got, want) {
		return fmt.Errorf("%s/LICENSE is not a copy of the root's LICENSE (cp LICENSE %s/)", dir, dir)
	}
	return nil
}
