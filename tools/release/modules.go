package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"
)

// corePath is the module at the repository root; every other module's path
// is corePath followed by its directory, so its tag prefix is its directory.
const corePath = "github.com/bearerauth/bearer"

// unpublished are the modules that are never tagged: nobody imports them.
// They still require the published modules at the release version, so they
// build as a consumer's code would.
var unpublished = []string{"examples", "bench", "conformance", "tools"}

// repoModule is one go.mod of the repository.
type repoModule struct {
	Path string // module path
	Dir  string // directory relative to the root, "." for the core
	File *modfile.File
}

// Published reports whether a release tags this module.
func (m repoModule) Published() bool {
	return !slices.Contains(unpublished, strings.Split(m.Dir, "/")[0])
}

// TagPrefix is what precedes the version in the module's tags.
func (m repoModule) TagPrefix() string {
	if m.Dir == "." {
		return ""
	}
	return m.Dir + "/"
}

// repository is every module found under a root, the core first.
type repository struct {
	Root    string
	Modules []repoModule
}

// inRepo finds the module with the given path.
func (r repository) inRepo(modPath string) (repoModule, bool) {
	for _, m := range r.Modules {
		if m.Path == modPath {
			return m, true
		}
	}
	return repoModule{}, false
}

// readRepository parses every go.mod under root, skipping testdata and
// hidden directories as the go command does.
func readRepository(root string) (repository, error) {
	repo := repository{Root: root}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")) {
			return filepath.SkipDir
		}
		if d.IsDir() || d.Name() != "go.mod" {
			return nil
		}
		f, _, err := parseGoMod(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(p))
		if err != nil {
			return err
		}
		repo.Modules = append(repo.Modules, repoModule{Path: f.Module.Mod.Path, Dir: filepath.ToSlash(rel), File: f})
		return nil
	})
	if err != nil {
		return repo, err
	}
	slices.SortFunc(repo.Modules, func(a, b repoModule) int { return strings.Compare(a.Dir, b.Dir) })
	if len(repo.Modules) == 0 || repo.Modules[0].Dir != "." || repo.Modules[0].Path != corePath {
		return repo, fmt.Errorf("%s: no module %s at the root", root, corePath)
	}
	return repo, nil
}

// relativeDir is the replace target that leads from module from to module to.
func relativeDir(from, to repoModule) string {
	rel, _ := filepath.Rel(filepath.FromSlash(from.Dir), filepath.FromSlash(to.Dir))
	rel = filepath.ToSlash(rel)
	if rel != ".." && !strings.HasPrefix(rel, "../") {
		rel = "./" + rel
	}
	return rel
}

// sameDir reports whether two replace targets name the same directory.
func sameDir(a, b string) bool {
	return path.Clean(a) == path.Clean(b)
}

// requireAt sets every in-repository requirement of the go.mod file at
// gomod to version, as a release does.
func requireAt(repo repository, gomod, version string) error {
	f, data, err := parseGoMod(gomod)
	if err != nil {
		return err
	}
	for _, r := range f.Require {
		if _, ok := repo.inRepo(r.Mod.Path); ok && r.Mod.Version != version {
			if err := f.AddRequire(r.Mod.Path, version); err != nil {
				return err
			}
		}
	}
	out, err := f.Format()
	if err != nil || bytes.Equal(out, data) {
		return err
	}
	return os.WriteFile(gomod, out, 0o644)
}

// parseGoMod reads and parses the go.mod file at gomod.
func parseGoMod(gomod string) (*modfile.File, []byte, error) {
	data, err := os.ReadFile(gomod)
	if err != nil {
		return nil, nil, err
	}
	f, err := modfile.Parse(gomod, data, nil)
	return f, data, err
}
