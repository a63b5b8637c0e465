// Command sc-archive is the byte-parity oracle for ArtifactStore.archiveDir: it applies the tar
// rules of spec §3.7 (written from the spec, not from upstream code) with Go's own archive/tar and
// compress/gzip, which are what source-controller links. No ignore rules: feed it trees without
// ignorable files. Usage: go run sc-archive.go <dir> <out.tar.gz>
package main

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"time"
)

func main() {
	root, out := os.Args[1], os.Args[2]
	f, err := os.Create(out)
	check(err)
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	check(filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() && !fi.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		h, err := tar.FileInfoHeader(fi, "")
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
		h.ModTime, h.AccessTime, h.ChangeTime = time.Time{}, time.Time{}, time.Time{}
		switch {
		case fi.IsDir():
			h.Mode = 0o750
		case fi.Mode()&0o111 != 0:
			h.Mode = 0o700
		default:
			h.Mode = 0o600
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if fi.IsDir() {
			return nil
		}
		src, err := os.Open(p)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	}))
	check(tw.Close())
	check(gz.Close())
	check(f.Close())
}

func check(err error) {
	if err != nil {
		panic(err)
	}
}
