package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"
)

// tidyCommand fails unless go mod tidy changes nothing in any module, both
// in development (the replaces lead to the working tree) and with the
// requirements alone (as a consumer resolves them).
func tidyCommand(root string) error {
	repo, version, err := readChecked(root)
	if err != nil {
		return err
	}
	if err := tidyInPlace(repo); err != nil {
		return err
	}
	c, err := newConsumer(repo, version)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.tidyAlone()
}

// tidyInPlace runs go mod tidy -diff in every module as it is.
func tidyInPlace(repo repository) error {
	var failed []error
	for _, m := range repo.Modules {
		out, err := goCommand(filepath.Join(repo.Root, m.Dir), []string{"GOWORK=off"}, "mod", "tidy", "-diff")
		if err != nil {
			failed = append(failed, fmt.Errorf("%s: go mod tidy would change it (run make tidy):\n%s", m.Dir, out))
			continue
		}
		fmt.Printf("== tidy %s: unchanged\n", m.Dir)
	}
	return errors.Join(failed...)
}

// consumer is a scratch directory where each module is unpacked from the
// zip a release would publish, without its in-repository replaces, and
// resolves the published modules from a file proxy built from the working
// tree, everything else from the module cache or the public proxy. Its own
// module cache keeps the unreleased versions out of the user's.
type consumer struct {
	repo  repository
	dir   string
	proxy fileProxy
	env   []string
}

func newConsumer(repo repository, version string) (*consumer, error) {
	dir, err := os.MkdirTemp("", "bearer-release-")
	if err != nil {
		return nil, err
	}
	c := &consumer{repo: repo, dir: dir}
	rev, err := worktreeRevision(repo.Root)
	if err == nil {
		c.proxy, err = buildProxy(repo, version, rev, filepath.Join(dir, "proxy"))
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	out, err := goCommand(repo.Root, nil, "env", "-json", "GOMODCACHE", "GOPROXY", "GOFLAGS", "GONOSUMDB")
	var v struct{ GOMODCACHE, GOPROXY, GOFLAGS, GONOSUMDB string }
	if err == nil {
		err = json.Unmarshal([]byte(out), &v)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("go env: %w", err)
	}
	c.env = []string{
		"GOWORK=off",
		"GOFLAGS=" + strings.TrimSpace(v.GOFLAGS+" -mod=mod"),
		"GOMODCACHE=" + filepath.Join(dir, "modcache"),
		// The user's module cache is itself a proxy: third-party modules
		// come from it without the network when they are there.
		"GOPROXY=" + c.proxy.URL() + ",file://" + filepath.ToSlash(filepath.Join(v.GOMODCACHE, "cache", "download")) + "," + v.GOPROXY,
		// The checksum database does not know versions not yet published.
		"GONOSUMDB=" + strings.Trim(v.GONOSUMDB+","+corePath, ","),
	}
	return c, nil
}

// Close removes the scratch directory, module cache included.
func (c *consumer) Close() {
	goCommand(c.dir, c.env, "clean", "-modcache")
	os.RemoveAll(c.dir)
}

// unpack extracts module m without its in-repository replaces and
// returns its directory and go.mod as unpacked.
func (c *consumer) unpack(m repoModule) (string, *modfile.File, error) {
	dir := filepath.Join(c.dir, "src", strings.ReplaceAll(m.Dir, "/", "_"))
	if err := c.proxy.unpack(m.Path, dir); err != nil {
		return "", nil, err
	}
	gomod := filepath.Join(dir, "go.mod")
	f, _, err := parseGoMod(gomod)
	if err != nil {
		return "", nil, err
	}
	for _, rp := range slices.Clone(f.Replace) {
		if _, ok := c.repo.inRepo(rp.Old.Path); ok {
			if err := f.DropReplace(rp.Old.Path, rp.Old.Version); err != nil {
				return "", nil, err
			}
		}
	}
	f.Cleanup()
	data, err := f.Format()
	if err == nil {
		err = os.WriteFile(gomod, data, 0o644)
	}
	return dir, f, err
}

// tidyAlone unpacks every module, runs go mod tidy there and fails if it
// changes a requirement or a checksum other than the in-repository
// modules' (which the repository's go.sum files do not hold: development
// replaces them), or if a package of the module or its tests cannot be
// loaded.
func (c *consumer) tidyAlone() error {
	var failed []error
	for _, m := range c.repo.Modules {
		dir, before, err := c.unpack(m)
		if err != nil {
			return err
		}
		sumBefore, _ := os.ReadFile(filepath.Join(dir, "go.sum"))
		if out, err := goCommand(dir, c.env, "mod", "tidy"); err != nil {
			failed = append(failed, fmt.Errorf("%s: go mod tidy with the requirements alone:\n%s", m.Dir, out))
			continue
		}
		after, _, err := parseGoMod(filepath.Join(dir, "go.mod"))
		if err != nil {
			return err
		}
		sumAfter, _ := os.ReadFile(filepath.Join(dir, "go.sum"))
		if d := diffLines(requirements(before), requirements(after)); d != "" {
			failed = append(failed, fmt.Errorf("%s: with the requirements alone go mod tidy changes go.mod:\n%s", m.Dir, d))
		}
		if d := diffLines(sums(sumBefore), sums(sumAfter)); d != "" {
			failed = append(failed, fmt.Errorf("%s: with the requirements alone go mod tidy changes go.sum:\n%s", m.Dir, d))
		}
		if out, err := goCommand(dir, c.env, "list", "-deps", "-test", "./..."); err != nil {
			failed = append(failed, fmt.Errorf("%s: with the requirements alone a package does not load:\n%s", m.Dir, lastLines(out, 20)))
			continue
		}
		fmt.Printf("== tidy %s with the requirements alone (%s from the working tree): unchanged\n", m.Dir, c.proxy.Version)
	}
	return errors.Join(failed...)
}

// requirements lists a go.mod's go directive and requirements, one a line.
func requirements(f *modfile.File) []string {
	lines := []string{"go " + f.Go.Version}
	for _, r := range f.Require {
		line := r.Mod.Path + " " + r.Mod.Version
		if r.Indirect {
			line += " // indirect"
		}
		lines = append(lines, line)
	}
	slices.Sort(lines)
	return lines
}

// sums lists a go.sum's lines but those of the in-repository modules.
func sums(data []byte) []string {
	var lines []string
	for line := range strings.Lines(string(data)) {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, corePath+" ") && !strings.HasPrefix(line, corePath+"/") {
			lines = append(lines, line)
		}
	}
	slices.Sort(lines)
	return lines
}

// diffLines shows the lines only in a (-) and only in b (+), or "".
func diffLines(a, b []string) string {
	var out strings.Builder
	for _, l := range a {
		if !slices.Contains(b, l) {
			fmt.Fprintf(&out, "\t- %s\n", l)
		}
	}
	for _, l := range b {
		if !slices.Contains(a, l) {
			fmt.Fprintf(&out, "\t+ %s\n", l)
		}
	}
	return out.String()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// goCommand runs the go command in dir with env added and returns its
// combined output.
func goCommand(dir string, env []string, args ...string) (string, error) {
	return command(dir, env, "go", args...)
}

// command runs a program in dir with env added and returns its combined
// output.
func command(dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}
