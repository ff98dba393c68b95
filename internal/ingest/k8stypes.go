package ingest

import "encoding/json"

// This file holds a local copy of the few Kubernetes audit types the
// webhook backend sends, with the JSON names and optionality of
// k8s.io/apiserver/pkg/apis/audit/v1 (types.go), k8s.io/api/authentication/v1
// (UserInfo) and k8s.io/apimachinery/pkg/apis/meta/v1 (Status). Importing
// those modules would bring in most of apimachinery for a dozen fields.
// Fields Indelible does not use (TypeMeta of items, Status.Details and
// ListMeta) are left out; encoding/json ignores them. audit.k8s.io/v1beta1
// has the same JSON shape for every field kept here.

// kubeEvent is audit.k8s.io/v1 Event.
type kubeEvent struct {
	Level                    string            `json:"level"`
	AuditID                  string            `json:"auditID"`
	Stage                    string            `json:"stage"`
	RequestURI               string            `json:"requestURI"`
	Verb                     string            `json:"verb"`
	User                     kubeUserInfo      `json:"user"`
	ImpersonatedUser         *kubeUserInfo     `json:"impersonatedUser,omitempty"`
	SourceIPs                []string          `json:"sourceIPs,omitempty"`
	UserAgent                string            `json:"userAgent,omitempty"`
	ObjectRef                *kubeObjectRef    `json:"objectRef,omitempty"`
	ResponseStatus           *kubeStatus       `json:"responseStatus,omitempty"`
	RequestObject            json.RawMessage   `json:"requestObject,omitempty"`  // runtime.Unknown: the raw object
	ResponseObject           json.RawMessage   `json:"responseObject,omitempty"` // runtime.Unknown: the raw object
	RequestReceivedTimestamp string            `json:"requestReceivedTimestamp"` // metav1.MicroTime, RFC 3339 with microseconds
	StageTimestamp           string            `json:"stageTimestamp"`           // metav1.MicroTime
	Annotations              map[string]string `json:"annotations,omitempty"`
}

// kubeUserInfo is authentication.k8s.io/v1 UserInfo.
type kubeUserInfo struct {
	Username string              `json:"username,omitempty"`
	UID      string              `json:"uid,omitempty"`
	Groups   []string            `json:"groups,omitempty"`
	Extra    map[string][]string `json:"extra,omitempty"`
}

// kubeObjectRef is audit.k8s.io/v1 ObjectReference.
type kubeObjectRef struct {
	Resource        string `json:"resource,omitempty"`
	Namespace       string `json:"namespace,omitempty"`
	Name            string `json:"name,omitempty"`
	UID             string `json:"uid,omitempty"`
	APIGroup        string `json:"apiGroup,omitempty"`
	APIVersion      string `json:"apiVersion,omitempty"`
	ResourceVersion string `json:"resourceVersion,omitempty"`
	Subresource     string `json:"subresource,omitempty"`
}

// kubeStatus is the part of meta/v1 Status that audit events carry in
// responseStatus.
type kubeStatus struct {
	Status  string `json:"status,omitempty"` // "Success" or "Failure"
	Message string `json:"message,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Code    *int32 `json:"code,omitempty"`
}

// Audit stages (audit.k8s.io/v1 Stage).
const (
	stageRequestReceived  = "RequestReceived"
	stageResponseStarted  = "ResponseStarted"
	stageResponseComplete = "ResponseComplete"
	stagePanic            = "Panic"
)

// Annotations the authorizer adds to every audit event.
const (
	annotationDecision = "authorization.k8s.io/decision" // "allow" or "forbid"
)
