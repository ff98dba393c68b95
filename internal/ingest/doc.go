// Package ingest adapts foreign audit formats to Indelible events
// (event.Event). Adapters only map and validate; the server decides what
// to do with the items they could not map, authenticates the sender and
// maps errors to HTTP status codes.
//
// # Kubernetes audit webhook
//
// DecodeKubernetes reads the body that the kube-apiserver webhook audit
// backend POSTs (Content-Type application/json): an audit.k8s.io/v1
// EventList of up to --audit-webhook-batch-max-size events. Each item
// becomes one event:
//
//	id        auditID + "/" + stage ("<sha256 of auditID>/stage" for an
//	          auditID that cannot be an event ID), so a resent batch is recognised
//	time      stageTimestamp, else requestReceivedTimestamp
//	type      "k8s.<resource>[.<subresource>].<verb>", like k8s.pods.create,
//	          k8s.pods.exec.create, or k8s.nonresource.get for a URL like /healthz
//	outcome   success for code 101, 2xx or 3xx, failure for 4xx, 5xx, the
//	          authorizer's decision "forbid" or the Panic stage; without a code,
//	          success for ResponseComplete with decision "allow"; else unknown
//	actor     user.username; type serviceaccount (system:serviceaccount:...),
//	          node (system:node:...) or user; the first of sourceIPs; userAgent
//	resource  objectRef.resource[/subresource], namespace/name (name alone
//	          for a cluster-scoped object)
//	message   responseStatus.message
//	source    KubernetesOptions.Source, "kubernetes" by default
//	data      level, stage, requestURI, verb, user, impersonatedUser,
//	          sourceIPs, objectRef, responseStatus (code, status, reason),
//	          annotations, requestReceivedTimestamp, requestObject and
//	          responseObject, with the names of the audit event, and
//	          truncated: true when the objects were dropped
//
// The actor is the authenticated user, even for an impersonated request;
// data.impersonatedUser says whom the request acted as. Like the
// Kubernetes truncate backend, an item whose event would be larger than
// KubernetesOptions.MaxEventBytes loses its requestObject and
// responseObject rather than being refused.
//
// Note that a client may choose the auditID of its requests (the Audit-ID
// request header). Two requests can therefore share an auditID, and so an
// event ID; the server sees the second as a conflicting resend.
//
// # Pointing a cluster at Indelible
//
// The webhook backend is configured by a kubeconfig file whose cluster
// server is the URL to POST to and whose user token is sent as
// "Authorization: Bearer <token>": give it an Indelible API key with the
// writer role for the log (tenant) of the cluster. The same example is in
// testdata/audit-webhook.kubeconfig:
//
//	apiVersion: v1
//	kind: Config
//	clusters:
//	- name: indelible
//	  cluster:
//	    server: https://indelible.example:8443/v1/ingest/kubernetes
//	    certificate-authority: /etc/kubernetes/indelible/ca.crt
//	users:
//	- name: kube-apiserver
//	  user:
//	    token: REPLACE-WITH-AN-INDELIBLE-WRITER-API-KEY
//	contexts:
//	- name: indelible
//	  context:
//	    cluster: indelible
//	    user: kube-apiserver
//	current-context: indelible
//
// and start kube-apiserver with
//
//	--audit-policy-file=/etc/kubernetes/audit-policy.yaml
//	--audit-webhook-config-file=/etc/kubernetes/indelible/audit-webhook.kubeconfig
//	--audit-webhook-mode=batch              # or blocking, or blocking-strict
//	--audit-webhook-batch-max-size=400      # events per request (the default)
//	--audit-webhook-batch-max-wait=30s      # the default
//
// In batch mode events are buffered and sent asynchronously; a batch
// that still fails after the backoff (--audit-webhook-initial-backoff) is
// dropped and logged by the API server. In blocking mode each request
// waits for its events to be sent, and blocking-strict also fails the
// request when its RequestReceived event cannot be. Either way Indelible
// answers 2xx only once the events are durable, so a batch it
// acknowledged is never lost.
//
// A small policy (audit-policy.yaml) that keeps secrets out of the log:
// entries can never be changed, so record Secret, ConfigMap and token
// requests at the Metadata level, never with their bodies.
//
//	apiVersion: audit.k8s.io/v1
//	kind: Policy
//	omitStages: ["RequestReceived"]
//	rules:
//	- level: None
//	  nonResourceURLs: ["/healthz*", "/livez*", "/readyz*", "/version"]
//	- level: Metadata
//	  resources:
//	  - group: ""
//	    resources: ["secrets", "configmaps", "serviceaccounts/token"]
//	  - group: "authentication.k8s.io"
//	    resources: ["tokenreviews"]
//	- level: RequestResponse
//	  resources:
//	  - group: "rbac.authorization.k8s.io"
//	- level: Request
//	  verbs: ["create", "update", "patch", "delete", "deletecollection"]
//	- level: Metadata
package ingest
