package runtimes

import (
	"strings"
	"testing"
)

// FuzzCheckHandler checks that a handler CheckHandler accepts is one the
// runtime's client can split: Python's "module.function" with a module
// of identifiers, Node.js's "dir/file.function" with no way up.
func FuzzCheckHandler(f *testing.F) {
	for _, s := range []string{"app.handler", "pkg/mod.handler", "a.b.c", "index.handler", "src/app.api.v1", "../x.y",
		"app", ".x", "x.", "a..b", "/abs/x.y", "a/b/.c", "é.x", "x.y\x00", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if CheckHandler("python3.12", h) == nil {
			mod, fn, ok := strings.Cut(h[strings.LastIndexByte(h, '.'):], ".")
			if !ok || mod != "" || fn == "" || strings.ContainsAny(h, "- \x00") || strings.HasPrefix(h, ".") || strings.Contains(h, "..") {
				t.Errorf("python: accepted %q", h)
			}
		}
		if CheckHandler("nodejs20.x", h) == nil {
			base := h[strings.LastIndexByte(h, '/')+1:]
			if strings.Contains(h, "..") || !strings.Contains(base, ".") || strings.HasPrefix(base, ".") || strings.HasSuffix(base, ".") {
				t.Errorf("node: accepted %q", h)
			}
		}
		if err := CheckHandler("provided.al2023", h); (err == nil) == strings.ContainsRune(h, 0) {
			t.Errorf("provided: %q gave %v", h, err)
		}
	})
}
