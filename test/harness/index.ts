/** Test harness: real servers on loopback and peer-tool wrappers, for integration and e2e tests. */
export * from "./run.ts";
export * from "./free-port.ts";
export * from "./certs.ts";
export * from "./token-server.ts";
export * from "./registry.ts";
export * from "./skopeo.ts";
export * from "./peers.ts";
export * from "./oci-layout.ts";
export * from "./kube.ts";
