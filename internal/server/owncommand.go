package server

import (
	"debug/buildinfo"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
)

// FunctionProgram is the name of cmd/surge-function's program: surge's
// own function without the rest of surge, which starts in half the time.
const FunctionProgram = "surge-function"

// ownFunctionCommand is the command line of surge's own function's
// instances: FunctionProgram beside this program, when it is there and of
// the same build; else this program's `surge function`.
func ownFunctionCommand() ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this program: %w", err)
	}
	self, _ := debug.ReadBuildInfo()
	if lean, ok := siblingFunction(exe, self, buildinfo.ReadFile); ok {
		return []string{lean}, nil
	}
	return []string{exe, "function"}, nil
}

// siblingFunction returns FunctionProgram in exe's directory if it is an
// executable file whose build info (read by read) says it was built from
// the same source as self: the same Go, module version, and commit with
// the same uncommitted-changes flag. Where either lacks what it takes to
// tell (a build without version control information and no module
// version), it is not used: a stale program would serve another version
// of the function.
func siblingFunction(exe string, self *debug.BuildInfo, read func(string) (*debug.BuildInfo, error)) (string, bool) {
	name := FunctionProgram
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	path := filepath.Join(filepath.Dir(exe), name)
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() || (runtime.GOOS != "windows" && st.Mode().Perm()&0o111 == 0) {
		return "", false
	}
	other, err := read(path)
	if err != nil || self == nil || !sameBuild(self, other) {
		return "", false
	}
	return path, true
}

// sameBuild reports whether a and b say they were built from one source.
func sameBuild(a, b *debug.BuildInfo) bool {
	if a.GoVersion != b.GoVersion || a.Main.Path != b.Main.Path || a.Main.Version != b.Main.Version {
		return false
	}
	setting := func(bi *debug.BuildInfo, key string) string {
		for _, s := range bi.Settings {
			if s.Key == key {
				return s.Value
			}
		}
		return ""
	}
	rev := setting(a, "vcs.revision")
	if rev == "" && (a.Main.Version == "" || a.Main.Version == "(devel)") {
		return false // nothing to tell the builds apart by
	}
	return rev == setting(b, "vcs.revision") && setting(a, "vcs.modified") == setting(b, "vcs.modified")
}
