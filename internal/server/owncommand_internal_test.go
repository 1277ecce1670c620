package server

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
)

func TestSiblingFunction(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes")
	}
	build := func(version, rev, modified string) *debug.BuildInfo {
		bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/surgehq/surge", Version: version}}
		if rev != "" {
			bi.Settings = []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
		}
		return bi
	}
	self := build("(devel)", "abc123", "false")
	for _, c := range []struct {
		name  string
		mode  os.FileMode // 0: no file
		other *debug.BuildInfo
		want  bool
	}{
		{"absent", 0, self, false},
		{"same build", 0o755, build("(devel)", "abc123", "false"), true},
		{"not executable", 0o644, build("(devel)", "abc123", "false"), false},
		{"another commit", 0o755, build("(devel)", "def456", "false"), false},
		{"uncommitted changes on one side", 0o755, build("(devel)", "abc123", "true"), false},
		{"another Go", 0o755, &debug.BuildInfo{GoVersion: "go1.25.0", Main: self.Main, Settings: self.Settings}, false},
		{"not a Go program", 0o755, nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			exe := filepath.Join(dir, "surge")
			lean := filepath.Join(dir, FunctionProgram)
			if c.mode != 0 {
				if err := os.WriteFile(lean, []byte("x"), c.mode); err != nil {
					t.Fatal(err)
				}
			}
			read := func(path string) (*debug.BuildInfo, error) {
				if path != lean {
					t.Errorf("read build info of %s, want %s", path, lean)
				}
				if c.other == nil {
					return nil, errors.New("not a Go binary")
				}
				return c.other, nil
			}
			got, ok := siblingFunction(exe, self, read)
			if ok != c.want || ok && got != lean {
				t.Errorf("got %q, %v; want %v", got, ok, c.want)
			}
		})
	}
	// Without version control information or a module version, builds
	// cannot be told apart: not used.
	bare := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/surgehq/surge", Version: "(devel)"}}
	if sameBuild(bare, bare) {
		t.Error("two builds without version information taken for the same")
	}
	// A released version is enough.
	v := build("v1.4.0", "", "")
	if !sameBuild(v, build("v1.4.0", "", "")) || sameBuild(v, build("v1.3.0", "", "")) {
		t.Error("module versions not compared")
	}
}
