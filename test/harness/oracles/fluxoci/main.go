// fluxoci is berth's test oracle for Flux compatibility: it drives Flux's own OCI library
// (github.com/fluxcd/pkg/oci, linked against the go-containerregistry release flux 2.9 ships)
// the way the flux CLI's artifact commands call it, so berth is checked against the real code
// rather than against re-derived vectors.
//
// Usage:
//
//	fluxoci build <dir> <out.tgz>
//	fluxoci push <dir> <host/repo:tag> --source S --revision R [--reproducible] [--insecure]
//	fluxoci pull <host/repo:tag> <dir> [--insecure]
//	fluxoci diff <host/repo:tag> <dir> [--insecure]
//
// References may carry an `oci://` prefix. push and pull print the manifest digest (sha256:…) on
// stdout; diff prints `equal` or `different` (exit 0 for both; other failures exit 1).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/fluxcd/pkg/oci"
	"github.com/fluxcd/pkg/sourceignore"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// The flux CLI's default --ignore-paths: the VCS and binary-extension lists, in that order.
var defaultIgnorePaths = append(strings.Split(sourceignore.ExcludeVCS, ","), strings.Split(sourceignore.ExcludeExt, ",")...)

// The library reports a content difference only as an error with this text.
const differsMessage = "the remote artifact contents differs from the local one"

// Same overall deadline as the CLI's default --timeout.
const timeout = 5 * time.Minute

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	var err error
	switch os.Args[1] {
	case "build":
		err = runBuild(os.Args[2:])
	case "push":
		err = runPush(ctx, os.Args[2:])
	case "pull":
		err = runPull(ctx, os.Args[2:])
	case "diff":
		err = runDiff(ctx, os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "fluxoci %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: fluxoci build <dir> <out.tgz>\n"+
		"       fluxoci push <dir> <host/repo:tag> --source S --revision R [--reproducible] [--insecure]\n"+
		"       fluxoci pull <host/repo:tag> <dir> [--insecure]\n"+
		"       fluxoci diff <host/repo:tag> <dir> [--insecure]")
	os.Exit(2)
}

// parseArgs accepts flags before, between or after the positional arguments (Go's flag package
// stops at the first positional one) and requires exactly `want` positional arguments.
func parseArgs(fs *flag.FlagSet, args []string, want int) []string {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			usage()
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
	if len(positional) != want {
		usage()
	}
	return positional
}

func trimScheme(ref string) string {
	return strings.TrimPrefix(ref, oci.OCIRepositoryPrefix)
}

func clientOptions(insecure bool) []crane.Option {
	opts := oci.DefaultOptions()
	if insecure {
		opts = append(opts, crane.Insecure)
	}
	return opts
}

// runBuild is `flux build artifact -p <dir> -o <out>` with the default ignore paths.
func runBuild(args []string) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	pos := parseArgs(fs, args, 2)
	return oci.NewClient(oci.DefaultOptions()).Build(pos[1], pos[0], defaultIgnorePaths)
}

// runPush is `flux push artifact oci://<ref> -f <dir> --source S --revision R [--reproducible]
// [--insecure-registry]`: the same metadata, retrying transport and client options the CLI sets up.
func runPush(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	source := fs.String("source", "", "org.opencontainers.image.source")
	revision := fs.String("revision", "", "org.opencontainers.image.revision")
	reproducible := fs.Bool("reproducible", false, "created = the Unix epoch")
	insecure := fs.Bool("insecure", false, "plain HTTP, no TLS verification")
	pos := parseArgs(fs, args, 2)
	dir, url := pos[0], trimScheme(pos[1])
	if *source == "" || *revision == "" {
		return errors.New("--source and --revision are required")
	}
	ref, err := name.ParseReference(url)
	if err != nil {
		return err
	}

	meta := oci.Metadata{Source: *source, Revision: *revision, Annotations: map[string]string{}}
	if *reproducible {
		// UTC as flux2 PR #6074 does; before it the CLI used the local zone, so run under TZ=UTC
		// to compare with a 2.9.x binary.
		meta.Created = time.Unix(0, 0).UTC().Format(time.RFC3339)
	}

	backoff := remote.Backoff{Duration: time.Second, Factor: 3, Jitter: 0.1, Steps: 10, Cap: timeout}
	auth, err := authn.DefaultKeychain.Resolve(ref.Context())
	if err != nil {
		return err
	}
	transportOpt, err := oci.WithRetryTransport(ctx, ref, auth, backoff,
		[]string{ref.Context().Scope(transport.PushScope)}, *insecure)
	if err != nil {
		return fmt.Errorf("error setting up transport: %w", err)
	}
	opts := append(clientOptions(false), transportOpt, oci.WithRetryBackOff(backoff))
	if *insecure {
		opts = append(opts, crane.Insecure)
	}

	digestURL, err := oci.NewClient(opts).Push(ctx, url, dir,
		oci.WithPushMetadata(meta),
		oci.WithPushIgnorePaths(defaultIgnorePaths...),
	)
	if err != nil {
		return err
	}
	digest, err := name.NewDigest(digestURL)
	if err != nil {
		return err
	}
	fmt.Println(digest.DigestStr())
	return nil
}

// runPull is `flux pull artifact oci://<ref> -o <dir>`.
func runPull(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("pull", flag.ContinueOnError)
	insecure := fs.Bool("insecure", false, "plain HTTP, no TLS verification")
	pos := parseArgs(fs, args, 2)
	meta, err := oci.NewClient(clientOptions(*insecure)).Pull(ctx, trimScheme(pos[0]), pos[1])
	if err != nil {
		return err
	}
	digest, err := name.NewDigest(meta.Digest)
	if err != nil {
		return err
	}
	fmt.Println(digest.DigestStr())
	return nil
}

// runDiff is `flux diff artifact oci://<ref> --path <dir>` with the default ignore paths.
func runDiff(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("diff", flag.ContinueOnError)
	insecure := fs.Bool("insecure", false, "plain HTTP, no TLS verification")
	pos := parseArgs(fs, args, 2)
	err := oci.NewClient(clientOptions(*insecure)).Diff(ctx, trimScheme(pos[0]), pos[1], defaultIgnorePaths)
	switch {
	case err == nil:
		fmt.Println("equal")
	case err.Error() == differsMessage:
		fmt.Println("different")
	default:
		return err
	}
	return nil
}
