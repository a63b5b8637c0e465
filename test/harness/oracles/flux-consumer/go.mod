// Test oracle (see main.go). Versions are those fluxcd/kustomize-controller v1.9.4 (Flux 2.9.x)
// requires: fluxcd/pkg/http/fetch v0.25.0, fluxcd/pkg/tar v1.2.0, fluxcd/cli-utils v1.2.2 and the
// same go-digest replacement. sigs.k8s.io/cli-utils is upstream kstatus, compared alongside.
module berth.test/fluxconsumer

go 1.26.0

// kustomize-controller and fluxcd/pkg/http/fetch link go-digest at this commit (BLAKE3 support);
// a dependency's replace does not apply here, so it is repeated to build the same digest code.
replace github.com/opencontainers/go-digest => github.com/opencontainers/go-digest v1.0.1-0.20220411205349-bde1400a84be

require (
	github.com/fluxcd/cli-utils v1.2.2
	github.com/fluxcd/pkg/http/fetch v0.25.0
	github.com/fluxcd/pkg/tar v1.2.0
	k8s.io/apimachinery v0.36.2
	sigs.k8s.io/cli-utils v0.37.2
)

require (
	github.com/cyphar/filepath-securejoin v0.6.1 // indirect
	github.com/fxamacker/cbor/v2 v2.9.0 // indirect
	github.com/go-logr/logr v1.4.3 // indirect
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-retryablehttp v0.7.8 // indirect
	github.com/json-iterator/go v1.1.12 // indirect
	github.com/klauspost/cpuid/v2 v2.2.10 // indirect
	github.com/modern-go/concurrent v0.0.0-20180306012644-bacd9c7ef1dd // indirect
	github.com/modern-go/reflect2 v1.0.3-0.20250322232337-35a7c28c31ee // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/opencontainers/go-digest/blake3 v0.0.0-20250116041648-1e56c6daea3b // indirect
	github.com/x448/float16 v0.8.4 // indirect
	github.com/zeebo/blake3 v0.2.4 // indirect
	go.yaml.in/yaml/v2 v2.4.3 // indirect
	golang.org/x/net v0.56.0 // indirect
	golang.org/x/sys v0.46.0 // indirect
	golang.org/x/text v0.38.0 // indirect
	gopkg.in/inf.v0 v0.9.1 // indirect
	k8s.io/api v0.36.2 // indirect
	k8s.io/klog/v2 v2.140.0 // indirect
	k8s.io/kube-openapi v0.0.0-20260317180543-43fb72c5454a // indirect
	k8s.io/utils v0.0.0-20260507154919-ff6756f316d2 // indirect
	sigs.k8s.io/json v0.0.0-20250730193827-2d320260d730 // indirect
	sigs.k8s.io/randfill v1.0.0 // indirect
	sigs.k8s.io/structured-merge-diff/v6 v6.3.2 // indirect
)
