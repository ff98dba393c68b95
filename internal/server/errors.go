package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"

	"github.com/a24ba333/indelible/event"
	"github.com/a24ba333/indelible/internal/analyze"
	"github.com/a24ba333/indelible/internal/apikey"
	"github.com/a24ba333/indelible/internal/capture"
	"github.com/a24ba333/indelible/internal/ingest"
	"github.com/a24ba333/indelible/internal/ledger"
	"github.com/a24ba333/indelible/internal/policy"
	"github.com/a24ba333/indelible/internal/schema"
	"github.com/a24ba333/indelible/internal/store"
)

// Errors that handlers return for writeError to map. Messages are shown
// to the client.
type (
	// badRequestError is a malformed request: a bad parameter or header.
	badRequestError struct{ msg string }
	// forbiddenError is an authenticated caller whose key does not allow
	// the request.
	forbiddenError struct{ msg string }
	// notFoundError is a resource that does not exist (yet).
	notFoundError struct{ msg string }
	// tooLargeError wraps the parse error of a batch that holds an event
	// longer than Limits.MaxEventBytes, or more than MaxBatchEvents.
	tooLargeError struct{ err error }
	// itemSyntaxError is a syntax error inside item Item of a JSON array
	// body. Path is relative to the item.
	itemSyntaxError struct {
		Item int
		Path string
		Err  *event.SyntaxError
	}
	// kubernetesItemsError lists the items of a Kubernetes audit batch
	// that could not be mapped to events.
	kubernetesItemsError []ingest.ItemError
)

func (e *badRequestError) Error() string { return e.msg }
func (e *forbiddenError) Error() string  { return e.msg }
func (e *notFoundError) Error() string   { return e.msg }
func (e *tooLargeError) Error() string   { return e.err.Error() }
func (e *tooLargeError) Unwrap() error   { return e.err }
func (e *itemSyntaxError) Error() string { return fmt.Sprintf("item %d: %v", e.Item, e.Err) }
func (e *itemSyntaxError) Unwrap() error { return e.Err }
func (e kubernetesItemsError) Error() string {
	if len(e) == 1 {
		return "1 audit event could not be mapped: " + e[0].Error()
	}
	return fmt.Sprintf("%d problems with audit events, the first: %v", len(e), e[0])
}

func badRequest(format string, args ...any) error {
	return &badRequestError{fmt.Sprintf(format, args...)}
}

func forbidden(format string, args ...any) error {
	return &forbiddenError{fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return &notFoundError{fmt.Sprintf(format, args...)}
}

// errOverloaded is returned when MaxInFlight ingest requests are already
// being served.
var errOverloaded = errors.New("too many ingest requests in flight; retry shortly")

// errNotReady fails /readyz, and new streams while draining.
var errNotReady = errors.New("not ready")

// errIndexDisabled answers queries on a server without a query index.
var errIndexDisabled = errors.New("query index disabled")

// errIndexLags answers a query whose min_index the query index did not
// cover within Limits.MaxIndexWait.
var errIndexLags = errors.New("the query index lags behind the log; retry shortly")

// errNoKey is returned for a request without an API key.
var errNoKey = fmt.Errorf("%w: send the key as \"Authorization: Bearer <key>\"", apikey.ErrUnauthenticated)

// errorBody is the JSON body of every error response.
type errorBody struct {
	Error string `json:"error"`
	// ID is the event id of a 409 Conflict.
	ID string `json:"id,omitempty"`
	// Details lists every bad item of a refused batch.
	Details []detail `json:"details,omitempty"`
	// Truncated is set when checking stopped after event.MaxItemErrors
	// bad items.
	Truncated bool `json:"truncated,omitempty"`
}

// detail is one problem with one item of a batch.
type detail struct {
	Item    int    `json:"item"`             // 0-based position of the event in the batch
	Line    int    `json:"line,omitempty"`   // 1-based line where the item starts, if known
	Column  int    `json:"column,omitempty"` // for a refused policy or schema: where the problem is
	Path    string `json:"path"`             // JSON Pointer of the field in the item ("" for the whole item)
	Message string `json:"message"`
}

// statusClientClosed is recorded (never sent) for requests whose client
// went away.
const statusClientClosed = 499

// classify maps an error to its status code and response body. It is the
// one place that decides status codes:
//
//	400 malformed request: a parameter, header or body that is not JSON
//	    (*event.SyntaxError), an empty batch, an unparseable Kubernetes body
//	401 no, malformed, unknown or revoked API key
//	403 the key's role or tenant does not allow the request
//	404 an unknown resource, or a proof of a size beyond the tree
//	    (ledger.ErrBadRange: the handlers answer 400 for parameters that can
//	    never be valid, so ErrBadRange only means "not that large yet")
//	409 an event id that the log holds with other content
//	413 a body longer than Limits.MaxBodyBytes (*http.MaxBytesError), an
//	    event longer than Limits.MaxEventBytes, a batch of more than
//	    Limits.MaxBatchEvents events, or an entry too large to seal
//	422 JSON that is not valid events (*event.BatchError), with every bad
//	    item; in NDJSON every line is an item, so a line that is not JSON
//	    is listed here too; Kubernetes audit items that cannot be mapped;
//	    a schema or policy that does not compile (*capture.RefusedError)
//	503 overload, shutdown or not ready, no query index, or a query index
//	    that did not reach a query's min_index in time; with Retry-After
//	500 anything else, logged
func classify(err error) (int, errorBody) {
	body := errorBody{Error: err.Error()}
	var (
		maxBytes *http.MaxBytesError
		tooLarge *tooLargeError
		syntax   *event.SyntaxError
		batch    *event.BatchError
		kube     kubernetesItemsError
		conflict *ledger.ConflictError
		bad      *badRequestError
		forbid   *forbiddenError
		missing  *notFoundError
		refused  *capture.RefusedError
		expr     *exprError
		tooMany  *tooManyError
		state    *conflictStateError
	)
	switch {
	case errors.As(err, &state):
		return http.StatusConflict, body
	case errors.As(err, &tooMany):
		return http.StatusUnprocessableEntity, body
	case errors.As(err, &expr):
		body.Details = []detail{{Column: expr.err.Column, Path: "q", Message: expr.err.Msg}}
		return http.StatusBadRequest, body
	case errors.As(err, &refused):
		body.Details = refusedDetails(refused)
		return http.StatusUnprocessableEntity, body
	case errors.Is(err, capture.ErrSelfApproval):
		return http.StatusForbidden, body
	case errors.Is(err, capture.ErrNotFound):
		return http.StatusNotFound, body
	case errors.As(err, &maxBytes):
		body.Error = fmt.Sprintf("the request body is longer than %d bytes", maxBytes.Limit)
		return http.StatusRequestEntityTooLarge, body
	case errors.As(err, &tooLarge):
		body.Details, body.Truncated = details(tooLarge.err)
		return http.StatusRequestEntityTooLarge, body
	case errors.Is(err, event.ErrEntryTooLarge):
		return http.StatusRequestEntityTooLarge, body
	case errors.As(err, &syntax):
		body.Details, _ = details(err)
		return http.StatusBadRequest, body
	case errors.As(err, &batch), errors.As(err, &kube):
		body.Details, body.Truncated = details(err)
		return http.StatusUnprocessableEntity, body
	case errors.Is(err, event.ErrEmptyBatch), errors.As(err, &bad):
		return http.StatusBadRequest, body
	case errors.As(err, &conflict):
		body.ID = conflict.ID
		return http.StatusConflict, body
	case errors.Is(err, apikey.ErrUnauthenticated):
		return http.StatusUnauthorized, body
	case errors.As(err, &forbid), errors.Is(err, apikey.ErrForbidden):
		return http.StatusForbidden, body
	case errors.As(err, &missing), errors.Is(err, apikey.ErrNotFound),
		errors.Is(err, ledger.ErrBadRange), errors.Is(err, fs.ErrNotExist):
		return http.StatusNotFound, body
	case errors.Is(err, errOverloaded), errors.Is(err, ledger.ErrClosed), errors.Is(err, errNotReady),
		errors.Is(err, store.ErrConflict), // other nodes kept appending to the log: retry
		errors.Is(err, errIndexDisabled), errors.Is(err, errIndexLags):
		return http.StatusServiceUnavailable, body
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return statusClientClosed, body
	}
	return http.StatusInternalServerError, errorBody{Error: "internal error"}
}

// details lists the bad items of a parse error.
func details(err error) (ds []detail, truncated bool) {
	var (
		item   *itemSyntaxError
		syntax *event.SyntaxError
		batch  *event.BatchError
		kube   kubernetesItemsError
	)
	switch {
	case errors.As(err, &item):
		return []detail{{Item: item.Item, Line: item.Err.Line, Path: item.Path, Message: syntaxMessage(item.Err)}}, false
	case errors.As(err, &syntax):
		return []detail{{Item: 0, Line: syntax.Line, Path: syntax.Path, Message: syntaxMessage(syntax)}}, false
	case errors.As(err, &batch):
		for _, it := range batch.Items {
			for _, fe := range it.Errors {
				ds = append(ds, detail{Item: it.Item, Line: it.Line, Path: fe.Path, Message: fe.Message})
			}
		}
		return ds, batch.Truncated
	case errors.As(err, &kube):
		for _, it := range kube {
			ds = append(ds, detail{Item: it.Item, Path: it.Path, Message: it.Message})
		}
	}
	return ds, false
}

// refusedDetails lists where a refused policy or schema is wrong.
func refusedDetails(re *capture.RefusedError) []detail {
	var (
		pe *policy.Error
		ce *schema.CompileError
		ae *analyze.Error
	)
	switch {
	case errors.As(re.Err, &ae):
		ds := make([]detail, len(ae.Problems))
		for i, p := range ae.Problems {
			ds[i] = detail{Line: p.Line, Column: p.Column, Path: p.Path, Message: p.Message}
		}
		return ds
	case errors.As(re.Err, &pe):
		ds := make([]detail, len(pe.Problems))
		for i, p := range pe.Problems {
			ds[i] = detail{Line: p.Line, Column: p.Column, Path: p.Path, Message: p.Message}
		}
		return ds
	case errors.As(re.Err, &ce):
		msg := ce.Msg
		if ce.Keyword != "" {
			msg = fmt.Sprintf("keyword %q: %s", ce.Keyword, ce.Msg)
		}
		return []detail{{Line: ce.Line, Column: ce.Column, Path: ce.Pointer, Message: msg}}
	}
	return nil
}

func syntaxMessage(se *event.SyntaxError) string {
	return fmt.Sprintf("line %d, column %d: %s", se.Line, se.Column, se.Msg)
}

// writeError answers a request that failed with err and returns the
// status code (which for a client that went away is only recorded) and
// the body.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) (int, errorBody) {
	code, body := classify(err)
	if code == statusClientClosed && r.Context().Err() == nil {
		code, body = http.StatusInternalServerError, errorBody{Error: "internal error"}
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	switch code {
	case statusClientClosed:
		s.cfg.Logger.DebugContext(r.Context(), "client went away", "method", r.Method, "path", r.URL.Path, "err", err)
		return code, body
	case http.StatusInternalServerError:
		s.cfg.Logger.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	case http.StatusServiceUnavailable:
		h.Set("Retry-After", "1")
	case http.StatusUnauthorized:
		if errors.Is(err, errNoKey) {
			h.Set("WWW-Authenticate", `Bearer realm="indelible"`)
		} else {
			h.Set("WWW-Authenticate", `Bearer realm="indelible", error="invalid_token"`)
		}
	}
	if err := writeJSON(w, code, body); err != nil {
		s.cfg.Logger.DebugContext(r.Context(), "writing error response", "err", err)
	}
	return code, body
}
