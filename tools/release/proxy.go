package main

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// worktreeRevision is a commit holding the tracked files as they are in
// the work tree (git stash create), or HEAD when nothing is changed: the
// zips are built from it as the module proxy builds them from a tag, so
// ignored and untracked files stay out as they would in a release.
func worktreeRevision(root string) (string, error) {
	rev, err := git(root, "stash", "create")
	if err != nil {
		return "", err
	}
	if rev == "" {
		return git(root, "rev-parse", "HEAD")
	}
	return rev, nil
}

// git runs git in dir and returns its trimmed output.
func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}

// fileProxy is a GOPROXY=file:// tree (the layout of `go help
// goproxy`) serving the published modules at one version when asked for it, built from a
// revision of the repository, plus every module's zip for unpacking.
type fileProxy struct {
	Dir     string
	Version string
	zips    map[string]string // module path -> zip file
}

// URL is the GOPROXY entry for the tree.
func (p fileProxy) URL() string {
	return "file://" + filepath.ToSlash(p.Dir)
}

// buildProxy writes the zip of every module at version from rev into dir,
// and serves the published ones. The zips are made from `git archive` of
// rev, with the in-repository requirements set to version: what a release
// of that commit would publish, without untracked files.
func buildProxy(repo repository, version, rev, dir string) (fileProxy, error) {
	p := fileProxy{Dir: dir, Version: version, zips: map[string]string{}}
	export := dir + ".export" // beside the tree, not served
	if _, err := git(repo.Root, "archive", "--format=zip", "-o", export+".zip", rev); err != nil {
		return p, err
	}
	if err := unzip(export+".zip", "", export); err != nil {
		return p, err
	}
	for _, m := range repo.Modules {
		if err := requireAt(repo, filepath.Join(export, filepath.FromSlash(m.Dir), "go.mod"), version); err != nil {
			return p, err
		}
		escaped, err := module.EscapePath(m.Path)
		if err != nil {
			return p, err
		}
		vdir := filepath.Join(dir, filepath.FromSlash(escaped), "@v")
		if err := os.MkdirAll(vdir, 0o755); err != nil {
			return p, err
		}
		src := filepath.Join(export, filepath.FromSlash(m.Dir))
		zipFile := filepath.Join(vdir, version+".zip")
		f, err := os.Create(zipFile)
		if err != nil {
			return p, err
		}
		err = modzip.CreateFromDir(f, module.Version{Path: m.Path, Version: version}, src)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return p, fmt.Errorf("zip of %s: %w", m.Path, err)
		}
		p.zips[m.Path] = zipFile
		if !m.Published() {
			continue
		}
		mod, err := os.ReadFile(filepath.Join(src, "go.mod"))
		if err != nil {
			return p, err
		}
		info, _ := json.Marshal(struct {
			Version string
			Time    time.Time
		}{version, time.Now().UTC().Truncate(time.Second)})
		// No list file: a query for the latest version goes on to the
		// public proxy, so gorelease compares with what is published.
		for name, data := range map[string][]byte{
			version + ".info": info,
			version + ".mod":  mod,
		} {
			if err := os.WriteFile(filepath.Join(vdir, name), data, 0o644); err != nil {
				return p, err
			}
		}
	}
	return p, os.RemoveAll(export)
}

// unpack extracts the zip of a module into dir, as the go command would
// into its module cache.
func (p fileProxy) unpack(modPath, dir string) error {
	return unzip(p.zips[modPath], modPath+"@"+p.Version+"/", dir)
}

// unzip extracts the files of a zip whose names all start with prefix
// into dir, without the prefix.
func unzip(zipFile, prefix, dir string) error {
	r, err := zip.OpenReader(zipFile)
	if err != nil {
		return err
	}
	defer r.Close()
	for _, zf := range r.File {
		name, ok := strings.CutPrefix(zf.Name, prefix)
		if !ok || !filepath.IsLocal(filepath.FromSlash(name)) {
			return fmt.Errorf("%s: %s outside %s", zipFile, zf.Name, prefix)
		}
		if strings.HasSuffix(name, "/") {
			continue
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := extract(zf, target); err != nil {
			return err
		}
	}
	return nil
}

func extract(zf *zip.File, target string) error {
	in, err := zf.Open()
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(target)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
