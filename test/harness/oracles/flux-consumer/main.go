// flux-consumer is berth's test oracle for the consumer side of Flux: it runs the library code that
// kustomize-controller, helm-controller and the flux CLI use to read what a source controller
// publishes, so berth's controller is checked against those consumers rather than re-derived rules.
//
// Usage:
//
//	flux-consumer fetch <artifact-url> <digest> <dir> [--retries N]
//	flux-consumer kstatus <object.json>
//
// fetch downloads the artifact with fluxcd/pkg/http/fetch configured as kustomize-controller
// configures it (digest verification, gunzip+untar into <dir>, SOURCE_CONTROLLER_LOCALHOST host
// override), then prints one line per extracted regular file: `<sha256 hex>  <slash path>`, sorted
// by path. Any failure, a digest mismatch included, exits 1 with the library's error on stderr.
//
// kstatus prints one JSON object: the status and message computed by Flux's kstatus
// (github.com/fluxcd/cli-utils, used by the flux CLI and kustomize-controller health checks) and by
// upstream sigs.k8s.io/cli-utils (what `kubectl wait`-style tooling links), so a divergence shows.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	fluxstatus "github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/pkg/http/fetch"
	"github.com/fluxcd/pkg/tar"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

// kustomize-controller's --artifact-fetch-retries default.
const defaultRetries = 9

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "fetch":
		err = runFetch(os.Args[2:])
	case "kstatus":
		err = runKstatus(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: flux-consumer fetch <artifact-url> <digest> <dir> [--retries N] | kstatus <object.json>")
	os.Exit(2)
}

func runFetch(args []string) error {
	fset := flag.NewFlagSet("fetch", flag.ContinueOnError)
	retries := fset.Int("retries", defaultRetries, "HTTP retries (kustomize-controller --artifact-fetch-retries)")
	pos, err := parseInterleaved(fset, args)
	if err != nil {
		return err
	}
	if len(pos) != 3 {
		usage()
	}
	url, digest, dir := pos[0], pos[1], pos[2]
	fetcher := fetch.New(
		fetch.WithRetries(*retries),
		fetch.WithMaxDownloadSize(tar.UnlimitedUntarSize),
		fetch.WithUntar(tar.WithMaxUntarSize(tar.UnlimitedUntarSize)),
		fetch.WithHostnameOverwrite(os.Getenv("SOURCE_CONTROLLER_LOCALHOST")),
	)
	if err := fetcher.Fetch(url, digest, dir); err != nil {
		return err
	}
	return listFiles(dir, os.Stdout)
}

// listFiles prints `<sha256 hex>  <path>` for every regular file under root, sorted by path.
func listFiles(root string, out io.Writer) error {
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		lines = append(lines, hex.EncodeToString(h.Sum(nil))+"  "+filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i][66:] < lines[j][66:] })
	for _, l := range lines {
		if _, err := fmt.Fprintln(out, l); err != nil {
			return err
		}
	}
	return nil
}

type kstatusResult struct {
	Status      string `json:"status"`
	Message     string `json:"message"`
	SigsStatus  string `json:"sigsStatus"`
	SigsMessage string `json:"sigsMessage"`
}

func runKstatus(args []string) error {
	if len(args) != 1 {
		usage()
	}
	raw, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	// Unstructured's own decoder turns JSON numbers into int64, the form the kstatus accessors
	// expect (and what a client-go/controller-runtime read produces).
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(raw); err != nil {
		return fmt.Errorf("parse %s: %w", args[0], err)
	}
	flux, err := fluxstatus.Compute(obj)
	if err != nil {
		return fmt.Errorf("fluxcd/cli-utils kstatus: %w", err)
	}
	sigs, err := sigsstatus.Compute(obj)
	if err != nil {
		return fmt.Errorf("sigs.k8s.io/cli-utils kstatus: %w", err)
	}
	return json.NewEncoder(os.Stdout).Encode(kstatusResult{
		Status:      flux.Status.String(),
		Message:     flux.Message,
		SigsStatus:  sigs.Status.String(),
		SigsMessage: sigs.Message,
	})
}

// parseInterleaved lets flags follow positional arguments, as the flux CLI (cobra) allows.
func parseInterleaved(fset *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fset.Parse(args); err != nil {
			return nil, err
		}
		args = fset.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
