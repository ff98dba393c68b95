// Package yamldoc reads YAML configuration documents strictly, node by
// node, so that every problem is reported with its line, column and path.
//
// Decode turns a document into its top node; a Reader walks that node,
// collecting a Problem for each value of the wrong kind, each unknown or
// repeated key, and each YAML anchor or alias, which these documents do
// not use: every value reads the same wherever it is.
package yamldoc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with a document.
type Problem struct {
	Line, Column int    // 1-based position in the document; 0 when unknown
	Path         string // where in the document, like "rules[2].match.condition"
	Message      string
}

// String returns the problem like
//
//	line 14, column 17 (rules[2].match.condition): the message
//
// leaving out what is unknown.
func (p Problem) String() string {
	var b strings.Builder
	switch {
	case p.Line > 0 && p.Column > 0:
		fmt.Fprintf(&b, "line %d, column %d", p.Line, p.Column)
	case p.Line > 0:
		fmt.Fprintf(&b, "line %d", p.Line)
	}
	if p.Path != "" {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "(%s)", p.Path)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Decode returns the top node of the single YAML document src, nil for
// an empty document. A syntax error, or a second document, is a problem;
// what names the document in the message for the latter, like
// "a policy" ("a policy is one YAML document; found another").
func Decode(src []byte, what string) (root *yaml.Node, prob *Problem) {
	defer func() {
		if r := recover(); r != nil {
			root, prob = nil, &Problem{Message: fmt.Sprintf("YAML: %v", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	switch err := dec.Decode(&doc); {
	case errors.Is(err, io.EOF):
		return nil, nil
	case err != nil:
		return nil, syntaxProblem(err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, syntaxProblem(err)
	default:
		return nil, &Problem{Line: next.Line, Column: next.Column, Message: what + " is one YAML document; found another"}
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0], nil
	}
	return nil, nil
}

// syntaxProblem turns a YAML syntax error into a problem. The YAML
// library reports only a line: for the errors of its parser (as opposed
// to its scanner), the 0-based line where the list or mapping holding the
// error starts, which this turns into a 1-based line.
func syntaxProblem(err error) *Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	p := &Problem{Message: "YAML: " + msg}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, m, ok := strings.Cut(rest, ": "); ok {
			if line, err := strconv.Atoi(n); err == nil {
				p.Line, p.Message = line, "YAML: "+m
				if where := parserProblem(m); where != "" {
					p.Line++
					p.Message += " in the " + where + " that starts at this line"
				}
			}
		}
	}
	return p
}

// parserProblem returns the kind of context of a problem the YAML parser
// reports with the line of that context, "" for another problem.
func parserProblem(msg string) string {
	switch msg {
	case "did not find expected '-' indicator", "did not find expected ',' or ']'":
		return "list"
	case "did not find expected key", "did not find expected ',' or '}'":
		return "mapping"
	case "did not find expected node content", "found undefined tag handle":
		return "value"
	}
	return ""
}
