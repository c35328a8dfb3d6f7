package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeRepo lays out a repository of go.mod files (dir -> content) with
// the root LICENSE copied into every directory but those in noLicense.
func writeRepo(t *testing.T, mods map[string]string, noLicense ...string) string {
	t.Helper()
	root := t.TempDir()
	for dir, gomod := range mods {
		d := filepath.Join(root, filepath.FromSlash(dir))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "go.mod"), []byte(gomod), 0o644); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(strings.Join(noLicense, " "), dir) {
			if err := os.WriteFile(filepath.Join(d, "LICENSE"), []byte("Apache-2.0\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

const coreMod = "module github.com/bearerauth/bearer\n\ngo 1.25.0\n"

// adapterMod is a published sub-module's go.mod; its pieces vary per case.
func adapterMod(goVersion, require, replace string) string {
	return "module github.com/bearerauth/bearer/adapters/x\n\ngo " + goVersion + "\n\nrequire " + require + "\n\n" + replace + "\n"
}

const (
	goodRequire = "github.com/bearerauth/bearer v0.1.0"
	goodReplace = "replace github.com/bearerauth/bearer => ../.."
)

func TestCheck(t *testing.T) {
	cases := []struct {
		name      string
		mods      map[string]string
		noLicense []string
		want      string // in the error; "" for consistent
	}{
		{"consistent", map[string]string{".": coreMod,
			"adapters/x": adapterMod("1.25.0", goodRequire, goodReplace),
			"examples":   "module github.com/bearerauth/bearer/examples\n\ngo 1.26.4\n\nrequire (\n\tgithub.com/bearerauth/bearer v0.1.0\n\tgithub.com/bearerauth/bearer/adapters/x v0.1.0\n)\n\nreplace github.com/bearerauth/bearer => ../\n\nreplace github.com/bearerauth/bearer/adapters/x => ../adapters/x\n",
		}, []string{"examples"}, ""},
		{"pseudo-version", map[string]string{".": coreMod,
			"adapters/x": adapterMod("1.25.0", "github.com/bearerauth/bearer v0.0.0-00010101000000-000000000000", goodReplace),
		}, nil, "not a release version"},
		{"v0.0.0", map[string]string{".": coreMod,
			"adapters/x": adapterMod("1.25.0", "github.com/bearerauth/bearer v0.0.0", goodReplace),
		}, nil, "not a release version"},
		{"no replace", map[string]string{".": coreMod,
			"adapters/x": adapterMod("1.25.0", goodRequire, ""),
		}, nil, "without replace"},
		{"replace to another directory", map[string]string{".": coreMod,
			"adapters/x": adapterMod("1.25.0", goodRequire, "replace github.com/bearerauth/bearer => ../"),
		}, nil, "want => ../.."},
		{"two versions", map[string]string{".": coreMod,
			"adapters/x": adapterMod("1.25.0", goodRequire, goodReplace),
			"adapters/y": "module github.com/bearerauth/bearer/adapters/y\n\ngo 1.25.0\n\nrequire github.com/bearerauth/bearer v0.2.0\n\nreplace github.com/bearerauth/bearer => ../..\n",
		}, nil, "more than one version"},
		{"foreign replace in a published module", map[string]string{".": coreMod,
			"adapters/x": adapterMod("1.25.0", goodRequire, goodReplace+"\nreplace example.com/other => ../other"),
		}, nil, "consumers ignore it"},
		{"published module on another go", map[string]string{".": coreMod,
			"adapters/x": adapterMod("1.26.0", goodRequire, goodReplace),
		}, nil, "what the core says"},
		{"published module requires an unpublished one", map[string]string{".": coreMod,
			"adapters/x": adapterMod("1.25.0", "(\n\tgithub.com/bearerauth/bearer v0.1.0\n\tgithub.com/bearerauth/bearer/examples v0.1.0\n)", goodReplace+"\nreplace github.com/bearerauth/bearer/examples => ../../examples"),
			"examples":   "module github.com/bearerauth/bearer/examples\n\ngo 1.25.0\n",
		}, nil, "requires the unpublished"},
		{"module path is not its directory", map[string]string{".": coreMod,
			"adapters/x": strings.Replace(adapterMod("1.25.0", goodRequire, goodReplace), "adapters/x", "adapters/xbearer", 1),
		}, nil, "the tag prefix is the directory"},
		{"no LICENSE in a published module", map[string]string{".": coreMod,
			"adapters/x": adapterMod("1.25.0", goodRequire, goodReplace),
		}, []string{"adapters/x"}, "LICENSE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			repo, err := readRepository(writeRepo(t, c.mods, c.noLicense...))
			if err != nil {
				t.Fatal(err)
			}
			version, err := check(repo, "")
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("check: %v", err)
			case c.want == "" && version != "v0.1.0":
				t.Errorf("version %q, want v0.1.0", version)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("check: %v, want an error saying %q", err, c.want)
			}
		})
	}
}
