// gotar is berth's test oracle: it archives a directory to stdout with Go's archive/tar the way
// the flux CLI lays out an artifact (sorted WalkDir order, root entry ".", regular files and
// directories only, owner and times zeroed), so berth's tar writer can be compared byte for byte.
// It also answers path/filepath.Match questions, so berth's glob port can be checked against Go.
//
// Usage: gotar <dir>
//
//	gotar match   (stdin: one "pattern\tname" per line; stdout: true, false or error per line)
package main

import (
	"archive/tar"
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	if len(os.Args) == 2 && os.Args[1] == "match" {
		matchLines()
		return
	}
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gotar <dir>")
		os.Exit(2)
	}
	root, err := filepath.Abs(os.Args[1])
	if err != nil {
		die(err)
	}
	out := bufio.NewWriter(os.Stdout)
	tw := tar.NewWriter(out)
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() && !d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		hdr.ModTime, hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}, time.Time{}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		die(err)
	}
	if err := tw.Close(); err != nil {
		die(err)
	}
	if err := out.Flush(); err != nil {
		die(err)
	}
}

func die(err error) {
	fmt.Fprintln(os.Stderr, "gotar:", err)
	os.Exit(1)
}

func matchLines() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		pattern, name, _ := strings.Cut(in.Text(), "\t")
		ok, err := filepath.Match(pattern, name)
		switch {
		case err != nil:
			fmt.Fprintln(out, "error")
		default:
			fmt.Fprintln(out, ok)
		}
	}
	if err := out.Flush(); err != nil {
		die(err)
	}
}
