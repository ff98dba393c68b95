package respond

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/a24ba333/indelible/internal/yamldoc"
)

// Sink types of the configuration.
const (
	SinkWebhook = "webhook"
	SinkSlack   = "slack"
	SinkLog     = "log"
)

// MaxConfigSize is the largest accepted configuration document, in bytes.
const MaxConfigSize = 1 << 20

// minSecretLen is the length of the shortest accepted webhook secret.
const minSecretLen = 16

// Config is an alert configuration: the sinks and the routes to them
// (see the package documentation).
type Config struct {
	Sinks  []SinkConfig
	Routes []Route
}

// SinkConfig describes one sink. URL and Secret are either given or read
// from the environment variable named by URLEnv and SecretEnv when the
// sinks are built.
type SinkConfig struct {
	Name      string
	Type      string // SinkWebhook, SinkSlack or SinkLog
	URL       string // webhook and slack
	URLEnv    string
	Secret    string // webhook
	SecretEnv string
	Timeout   time.Duration // webhook and slack; DefaultTimeout when 0

	// at holds where the keys of the sink are written, by key, for the
	// problems found when building it; nil for a configuration made in
	// code.
	at map[string][2]int
}

// ParseConfig parses and checks an alert configuration document. Every
// problem is reported at once, in an *Error whose problems carry the line
// and column of the offending YAML node. An empty document sends every
// alert to the log.
func ParseConfig(src []byte) (*Config, error) {
	if len(src) > MaxConfigSize {
		return nil, &Error{Problems: []Problem{{Message: fmt.Sprintf("the document is %d bytes, at most %d", len(src), MaxConfigSize)}}}
	}
	root, prob := yamldoc.Decode(src, "an alert configuration")
	if prob != nil {
		return nil, &Error{Problems: []Problem{*prob}}
	}
	c := &Config{}
	ps := &parser{}
	ps.document(root, c)
	if len(ps.Problems) > 0 {
		slices.SortStableFunc(ps.Problems, func(a, b Problem) int {
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			return a.Column - b.Column
		})
		return nil, &Error{Problems: ps.Problems}
	}
	return c, nil
}

// declared is a sink as the document declares it, for the checks across
// sinks and routes.
type declared struct {
	node *yaml.Node // its name
	path string
	typ  string
	ok   bool // whether it has no problems
	used bool
}

func (ps *parser) document(root *yaml.Node, c *Config) {
	if root == nil || yamldoc.IsNull(root) {
		return
	}
	sinks := map[string]*declared{}
	var order []string
	type ref struct {
		name string
		node *yaml.Node
		path string
	}
	var refs []ref
	routed := false // whether the document has routes
	ps.Mapping(root, "", []string{"sinks", "routes"}, func(key string, _, v *yaml.Node, path string) {
		switch key {
		case "sinks":
			ps.List(v, path, func(_ int, item *yaml.Node, path string) {
				s, nameNode, ok := ps.sink(item, path)
				if nameNode == nil {
					return
				}
				if d, dup := sinks[s.Name]; dup {
					ps.Errorf(nameNode, path+".name", "sink name %q is already used at line %d", s.Name, d.node.Line)
					return
				}
				sinks[s.Name] = &declared{node: nameNode, path: path + ".name", typ: s.Type, ok: ok}
				order = append(order, s.Name)
				if ok {
					c.Sinks = append(c.Sinks, s)
				}
			})
		case "routes":
			ps.List(v, path, func(_ int, item *yaml.Node, path string) {
				routed = true
				r, nodes, paths, ok := ps.route(item, path)
				for i, name := range r.Sinks {
					refs = append(refs, ref{name, nodes[i], paths[i]})
				}
				if ok {
					c.Routes = append(c.Routes, r)
				}
			})
		}
	})
	for _, r := range refs {
		d, ok := sinks[r.name]
		if !ok {
			hint := "no sinks are declared"
			if len(order) > 0 {
				hint = "declared: " + yamldoc.QuoteList(order)
			}
			ps.Errorf(r.node, r.path, "no sink is named %q; %s", r.name, hint)
			continue
		}
		d.used = true
	}
	for _, name := range order {
		d := sinks[name]
		switch {
		case !d.ok:
			// Its problems are enough.
		case routed && !d.used:
			ps.Errorf(d.node, d.path, "sink %q is used by no route", name)
		case !routed && d.typ != SinkLog:
			ps.Errorf(d.node, d.path, "sink %q is used by no route; without routes every alert goes to the log sinks", name)
		}
	}
}

// sink parses one sink; nameNode is the node of its name, if it has a
// valid one.
func (ps *parser) sink(n *yaml.Node, path string) (s SinkConfig, nameNode *yaml.Node, ok bool) {
	start := len(ps.Problems)
	keys := map[string]*yaml.Node{}
	s.at = map[string][2]int{"": {n.Line, n.Column}}
	known := []string{"name", "type", "url", "url_env", "secret", "secret_env", "timeout"}
	if !ps.Mapping(n, path, known, func(key string, k, v *yaml.Node, path string) {
		keys[key] = k
		s.at[key] = [2]int{v.Line, v.Column}
		switch key {
		case "name":
			if name, ok := ps.Str(v, path); ok {
				if err := checkName(name); err != nil {
					ps.Errorf(v, path, "%v", err)
				} else {
					s.Name, nameNode = name, v
				}
			}
		case "type":
			s.Type, _ = ps.OneOf(v, path, SinkWebhook, SinkSlack, SinkLog)
		case "url":
			if u, ok := ps.Str(v, path); ok {
				if _, err := checkURL(u); err != nil {
					ps.Errorf(v, path, "%v", err)
				} else {
					s.URL = u
				}
			}
		case "url_env":
			s.URLEnv, _ = ps.envName(v, path)
		case "secret":
			if secret, ok := ps.Str(v, path); ok {
				if msg := checkSecret(secret); msg != "" {
					ps.Errorf(v, path, "%s", msg)
				} else {
					s.Secret = secret
				}
			}
		case "secret_env":
			s.SecretEnv, _ = ps.envName(v, path)
		case "timeout":
			s.Timeout, _ = ps.timeout(v, path)
		}
	}) {
		return s, nil, false
	}
	if keys["name"] == nil {
		ps.Errorf(n, path, "a sink needs a name")
	}
	if keys["type"] == nil {
		ps.Errorf(n, path, "a sink needs a type: %s", yamldoc.QuoteList([]string{SinkWebhook, SinkSlack, SinkLog}))
	}
	// either reports a problem unless exactly one of a and b is written.
	either := func(a, b, missing string) {
		switch {
		case keys[a] != nil && keys[b] != nil:
			ps.Errorf(keys[b], path+"."+b, "give %s or %s, not both", a, b)
		case keys[a] == nil && keys[b] == nil:
			ps.Errorf(n, path, "%s", missing)
		}
	}
	switch s.Type {
	case SinkWebhook:
		either("url", "url_env", "a webhook sink needs a url or a url_env")
		either("secret", "secret_env", "a webhook sink needs a secret or a secret_env: its requests are signed")
	case SinkSlack:
		either("url", "url_env", "a slack sink needs a url or a url_env")
		for _, key := range []string{"secret", "secret_env"} {
			if k := keys[key]; k != nil {
				ps.Errorf(k, path+"."+key, "a slack sink has no secret: its URL is one, which url_env keeps out of the document")
			}
		}
	case SinkLog:
		for _, key := range known[2:] {
			if k := keys[key]; k != nil {
				ps.Errorf(k, path+"."+key, "has no effect on a log sink")
			}
		}
	}
	return s, nameNode, len(ps.Problems) == start
}

// envName returns the name of an environment variable.
func (ps *parser) envName(n *yaml.Node, path string) (string, bool) {
	s, ok := ps.Str(n, path)
	if !ok {
		return "", false
	}
	for i, c := range []byte(s) {
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			ps.Errorf(n, path, "%q is not the name of an environment variable (letters, digits and \"_\", not starting with a digit)", clip(s, 64))
			return "", false
		}
	}
	if s == "" || len(s) > 256 {
		ps.Errorf(n, path, "an environment variable name has 1 to 256 characters")
		return "", false
	}
	return s, true
}

// timeout returns the duration n, between 1ms and 5 minutes.
func (ps *parser) timeout(n *yaml.Node, path string) (time.Duration, bool) {
	if !ps.Plain(n, path) {
		return 0, false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		ps.Errorf(n, path, `must be a duration like "10s" or "1m", not %s`, yamldoc.Describe(n))
		return 0, false
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		ps.Errorf(n, path, `%q is not a duration like "10s" or "1m"`, clip(n.Value, 64))
		return 0, false
	}
	if d < time.Millisecond || d > maxTimeout {
		ps.Errorf(n, path, "a timeout is between 1ms and %v, not %v", maxTimeout, d)
		return 0, false
	}
	return d, true
}

func checkSecret(s string) string {
	if len(s) < minSecretLen {
		return fmt.Sprintf("a secret has at least %d characters (32 random bytes in hex is good)", minSecretLen)
	}
	return ""
}

func checkSeverity(s string) string {
	if !slices.Contains([]string{SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}, s) {
		return fmt.Sprintf("severity %q is not one of %s", clip(s, 64), yamldoc.QuoteList([]string{SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}))
	}
	return ""
}

func checkNotEmpty(what string) func(string) string {
	return func(s string) string {
		if s == "" {
			return "an empty " + what + " never matches"
		}
		return ""
	}
}

// route parses one route, returning also the node and path of each sink
// it names.
func (ps *parser) route(n *yaml.Node, path string) (r Route, nodes []*yaml.Node, paths []string, ok bool) {
	start := len(ps.Problems)
	hasSinks := false
	if !ps.Mapping(n, path, []string{"match", "sinks"}, func(key string, _, v *yaml.Node, path string) {
		switch key {
		case "match":
			const empty = "an empty list matches nothing"
			m := &r.Match
			ps.Mapping(v, path, []string{"severity", "rule", "project", "environment"}, func(key string, _, v *yaml.Node, path string) {
				switch key {
				case "severity":
					m.Severity, _, _ = ps.stringList(v, path, empty, checkSeverity)
				case "rule":
					m.Rule, _, _ = ps.stringList(v, path, empty, checkNotEmpty("rule"))
				case "project":
					m.Project, _, _ = ps.stringList(v, path, empty, nil)
				case "environment":
					m.Environment, _, _ = ps.stringList(v, path, empty, nil)
				}
			})
		case "sinks":
			hasSinks = true
			r.Sinks, nodes, paths = ps.stringList(v, path, "an empty list sends alerts nowhere", nil)
		}
	}) {
		return r, nil, nil, false
	}
	if !hasSinks {
		ps.Errorf(n, path, "a route needs sinks")
	}
	return r, nodes, paths, len(ps.Problems) == start
}

// SinkOptions are what building the sinks of a configuration needs.
type SinkOptions struct {
	// LookupEnv reads the variables that url_env and secret_env name
	// (os.LookupEnv in production); nil means that none is set.
	LookupEnv func(name string) (string, bool)
	// Logger receives the alerts of the log sinks; required.
	Logger *slog.Logger
	// Client, if not nil, is the client that HTTP sinks copy.
	Client *http.Client
	// Now is the clock of webhook signatures and of Retry-After dates;
	// time.Now when nil.
	Now func() time.Time
}

// Router builds the sinks of c and the router to them. Without routes,
// and without a log sink, it adds a log sink named "log". Problems with
// the environment variables are reported in an *Error, at the line and
// column of the variable's name if c was parsed.
func (c *Config) Router(o SinkOptions) (*Router, error) {
	if o.Logger == nil {
		return nil, errors.New("alert config: a logger is required")
	}
	scs := slices.Clone(c.Sinks)
	if len(c.Routes) == 0 && !slices.ContainsFunc(scs, func(s SinkConfig) bool { return s.Type == SinkLog }) {
		scs = append(scs, SinkConfig{Name: "log", Type: SinkLog})
	}
	var probs []Problem
	var sinks []Sink
	for i, sc := range scs {
		s, prob := sc.build(o, fmt.Sprintf("sinks[%d]", i))
		if prob != nil {
			probs = append(probs, *prob)
			continue
		}
		sinks = append(sinks, s)
	}
	if len(probs) > 0 {
		return nil, &Error{Problems: probs}
	}
	r, err := NewRouter(sinks, c.Routes)
	if err != nil {
		return nil, fmt.Errorf("alert config: %w", err)
	}
	return r, nil
}

// build returns the sink sc describes, or the problem that prevents it.
func (sc SinkConfig) build(o SinkOptions, path string) (Sink, *Problem) {
	problem := func(key, format string, args ...any) *Problem {
		p := &Problem{Path: path, Message: fmt.Sprintf(format, args...)}
		if key != "" {
			p.Path += "." + key
		}
		at, ok := sc.at[key]
		if !ok {
			at = sc.at[""]
		}
		p.Line, p.Column = at[0], at[1]
		return p
	}
	value := func(v, env, key string) (string, *Problem) {
		if env == "" {
			return v, nil
		}
		var s string
		ok := false
		if o.LookupEnv != nil {
			s, ok = o.LookupEnv(env)
		}
		switch {
		case !ok:
			return "", problem(key, "environment variable %s is not set", env)
		case strings.TrimSpace(s) == "":
			return "", problem(key, "environment variable %s is empty", env)
		}
		return strings.TrimSpace(s), nil
	}
	if !slices.Contains([]string{SinkWebhook, SinkSlack, SinkLog}, sc.Type) {
		return nil, problem("type", "%q is not one of %s", sc.Type, yamldoc.QuoteList([]string{SinkWebhook, SinkSlack, SinkLog}))
	}
	if sc.Type == SinkLog {
		s, err := NewLogSink(sc.Name, o.Logger)
		if err != nil {
			return nil, problem("", "%v", err)
		}
		return s, nil
	}
	u, prob := value(sc.URL, sc.URLEnv, "url_env")
	if prob != nil {
		return nil, prob
	}
	if _, err := checkURL(u); err != nil {
		key := "url"
		if sc.URLEnv != "" {
			key = "url_env"
			err = fmt.Errorf("environment variable %s: %w", sc.URLEnv, err)
		}
		return nil, problem(key, "%v", err)
	}
	switch sc.Type {
	case SinkWebhook:
		secret, prob := value(sc.Secret, sc.SecretEnv, "secret_env")
		if prob != nil {
			return nil, prob
		}
		if msg := checkSecret(secret); msg != "" {
			if sc.SecretEnv != "" {
				return nil, problem("secret_env", "environment variable %s: %s", sc.SecretEnv, msg)
			}
			return nil, problem("secret", "%s", msg)
		}
		s, err := NewWebhook(WebhookConfig{Name: sc.Name, URL: u, Secret: []byte(secret), Timeout: sc.Timeout, Client: o.Client, Now: o.Now})
		if err != nil {
			return nil, problem("", "%v", err)
		}
		return s, nil
	default:
		s, err := NewSlack(SlackConfig{Name: sc.Name, URL: u, Timeout: sc.Timeout, Client: o.Client, Now: o.Now})
		if err != nil {
			return nil, problem("", "%v", err)
		}
		return s, nil
	}
}
