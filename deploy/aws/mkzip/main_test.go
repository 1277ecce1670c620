package main

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "bootstrap")
	content := bytes.Repeat([]byte("\x7fELF binary"), 1000)
	if err := os.WriteFile(exe, content, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "bootstrap.zip")
	if err := write(out, exe, ""); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 {
		t.Fatalf("got %d entries, want 1", len(zr.File))
	}
	f := zr.File[0]
	if f.Name != "bootstrap" || f.Mode().Perm() != 0o755 || f.Mode().IsDir() {
		t.Errorf("got %s mode %v, want bootstrap 0755 (the runtime executes it)", f.Name, f.Mode())
	}
	rc, _ := f.Open()
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, content) {
		t.Error("the entry's content differs from the executable")
	}

	// The same executable gives the same bytes.
	first, _ := os.ReadFile(out)
	if err := write(out, exe, ""); err != nil {
		t.Fatal(err)
	}
	second, _ := os.ReadFile(out)
	if !bytes.Equal(first, second) {
		t.Error("two packages of one executable differ")
	}
	if err := write(filepath.Join(dir, "x.zip"), filepath.Join(dir, "missing"), ""); err == nil {
		t.Error("a missing executable gave no error")
	}
}
