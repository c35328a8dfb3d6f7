package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/mod/semver"
)

// tagCommand releases every published module at one version, or with
// -dry-run shows what it would do. Everything is verified in a scratch
// worktree first; the tags are then created in one atomic ref update, so
// a release is either all tagged or not at all.
func tagCommand(root string, args []string) error {
	flags := flag.NewFlagSet("tag", flag.ExitOnError)
	dryRun := flags.Bool("dry-run", false, "verify and show the commit and tags; change nothing")
	flags.Parse(args)
	if flags.NArg() != 1 {
		return errors.New("usage: tag [-dry-run] vX.Y.Z|next")
	}
	repo, err := readRepository(root)
	if err != nil {
		return err
	}
	version := flags.Arg(0)
	if version == "next" {
		if version, err = nextVersion(repo); err != nil {
			return err
		}
	}
	if !semver.IsValid(version) || semver.Canonical(version) != version {
		return fmt.Errorf("version %q: want vMAJOR.MINOR.PATCH[-pre]", version)
	}
	if semver.Major(version) != "v0" && semver.Major(version) != "v1" {
		return fmt.Errorf("version %s: a major version above v1 changes every module path", version)
	}
	var tags []string
	for _, m := range repo.Modules {
		if !m.Published() {
			continue
		}
		tag := m.TagPrefix() + version
		if _, err := git(root, "rev-parse", "--quiet", "--verify", "refs/tags/"+tag); err == nil {
			return fmt.Errorf("tag %s exists: %s is released already", tag, version)
		}
		tags = append(tags, tag)
	}
	if dirty, err := git(root, "status", "--porcelain"); err != nil {
		return err
	} else if dirty != "" && !*dryRun {
		return errors.New("the work tree has changes: commit or stash them, a release is made from HEAD")
	} else if dirty != "" {
		fmt.Println("dry run of HEAD: the work tree's uncommitted changes are not part of it")
	}

	scratch, err := os.MkdirTemp("", "bearer-tag-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	work := filepath.Join(scratch, "work")
	if _, err := git(root, "worktree", "add", "--quiet", "--detach", work, "HEAD"); err != nil {
		return err
	}
	defer git(root, "worktree", "remove", "--force", work)

	commit, err := prepareRelease(work, version, *dryRun)
	if err != nil {
		return fmt.Errorf("%s not released, nothing tagged: %w", version, err)
	}
	fmt.Printf("release %s: commit %s\n", version, commit)
	for _, tag := range tags {
		fmt.Printf("  tag %s\n", tag)
	}
	if *dryRun {
		fmt.Println("dry run: verified, nothing committed or tagged")
		return nil
	}
	if _, err := git(root, "merge", "--quiet", "--ff-only", commit); err != nil {
		return fmt.Errorf("%s not released, nothing tagged: the branch cannot move to %s: %w", version, commit, err)
	}
	if err := createTags(root, commit, version, tags); err != nil {
		return fmt.Errorf("%s not tagged (no tag was created): %w", version, err)
	}
	fmt.Printf("tagged. Publish all or nothing:\n  git push --atomic origin HEAD %s\n", strings.Join(tags, " "))
	return nil
}

// nextVersion is the version the go.mod files require if it is not
// tagged yet, else the next minor version after it.
func nextVersion(repo repository) (string, error) {
	current, err := check(repo, "")
	if err != nil {
		return "", err
	}
	if _, err := git(repo.Root, "rev-parse", "--quiet", "--verify", "refs/tags/"+current); err != nil {
		return current, nil
	}
	var major, minor int
	fmt.Sscanf(semver.MajorMinor(current), "v%d.%d", &major, &minor)
	return fmt.Sprintf("v%d.%d.0", major, minor+1), nil
}

// prepareRelease sets every in-repository requirement in the worktree at
// work to version, verifies the result (check, tidy both ways), commits it
// if anything changed and returns the commit to tag.
func prepareRelease(work, version string, dryRun bool) (string, error) {
	repo, err := readRepository(work)
	if err != nil {
		return "", err
	}
	for _, m := range repo.Modules {
		if err := requireAt(repo, filepath.Join(work, m.Dir, "go.mod"), version); err != nil {
			return "", err
		}
	}
	if repo, err = readRepository(work); err != nil {
		return "", err
	}
	if _, err := check(repo, version); err != nil {
		return "", err
	}
	if err := tidyInPlace(repo); err != nil {
		return "", err
	}
	c, err := newConsumer(repo, version)
	if err != nil {
		return "", err
	}
	err = c.tidyAlone()
	c.Close()
	if err != nil {
		return "", err
	}
	if changed, err := git(work, "status", "--porcelain"); err != nil {
		return "", err
	} else if changed != "" {
		args := []string{"commit", "--quiet", "-am", "release " + version + ": every module requires the in-repository modules at " + version}
		if dryRun { // CI has no identity; the commit is thrown away
			args = append([]string{"-c", "user.name=release dry run", "-c", "user.email=dry-run@invalid"}, args...)
		}
		if _, err := git(work, args...); err != nil {
			return "", err
		}
	}
	return git(work, "rev-parse", "HEAD")
}

// createTags makes an annotated tag object for each tag, then creates
// every ref in one transaction: git update-ref --stdin applies all of them
// or none.
func createTags(root, commit, version string, tags []string) error {
	tagger, err := git(root, "var", "GIT_COMMITTER_IDENT")
	if err != nil {
		return err
	}
	var refs strings.Builder
	for _, tag := range tags {
		obj, err := gitInput(root, fmt.Sprintf("object %s\ntype commit\ntag %s\ntagger %s\n\nbearer %s\n", commit, tag, tagger, version), "mktag")
		if err != nil {
			return err
		}
		fmt.Fprintf(&refs, "create refs/tags/%s %s\n", tag, obj)
	}
	_, err = gitInput(root, refs.String(), "update-ref", "--stdin")
	return err
}

// gitInput runs git in dir with input on its standard input.
func gitInput(dir, input string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(input)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out)), nil
}
