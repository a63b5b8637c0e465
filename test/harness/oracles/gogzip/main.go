// Command gogzip is berth's test oracle for Go-compatible gzip: it gzips stdin to stdout
// with compress/gzip's default writer, exactly as the flux CLI compresses artifact layers.
//
// Usage: gogzip [-chunk N]
//
// By default all of stdin is handed to one Write call. With -chunk N the input is written
// in N-byte pieces, to observe how Go's output depends on write boundaries.
package main

import (
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	chunk := flag.Int("chunk", 0, "write the input in pieces of this many bytes (0 = one write)")
	flag.Parse()
	if err := run(*chunk); err != nil {
		fmt.Fprintln(os.Stderr, "gogzip:", err)
		os.Exit(1)
	}
}

func run(chunk int) error {
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	zw := gzip.NewWriter(os.Stdout)
	if chunk <= 0 {
		chunk = len(data)
	}
	for len(data) > 0 {
		n := min(chunk, len(data))
		if _, err := zw.Write(data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return zw.Close()
}
