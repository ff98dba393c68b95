package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

func TestEnvName(t *testing.T) {
	for _, tc := range []struct{ flag, want string }{
		{"data-dir", "INDELIBLE_DATA_DIR"},
		{"log", "INDELIBLE_LOG"},
		{"save-trusted", "INDELIBLE_SAVE_TRUSTED"},
		{"max-batch", "INDELIBLE_MAX_BATCH"},
	} {
		if got := envName(tc.flag); got != tc.want {
			t.Errorf("envName(%q) = %q, want %q", tc.flag, got, tc.want)
		}
	}
}

func TestApplyEnv(t *testing.T) {
	env := map[string]string{
		"INDELIBLE_DATA_DIR":  "/from/env",
		"INDELIBLE_LOG":       "from-env",
		"INDELIBLE_MAX_WAIT":  "250ms",
		"INDELIBLE_MAX_BATCH": "", // empty: ignored
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	dir := fs.String("data-dir", "", "")
	log := fs.String("log", "", "")
	wait := fs.Duration("max-wait", 0, "")
	batch := fs.Int("max-batch", 7, "")
	if err := fs.Parse([]string{"--log", "from-flag"}); err != nil {
		t.Fatal(err)
	}
	if err := applyEnv(fs, func(k string) string { return env[k] }); err != nil {
		t.Fatalf("applyEnv: %v", err)
	}
	if *dir != "/from/env" || *log != "from-flag" || *wait != 250*time.Millisecond || *batch != 7 {
		t.Errorf("after applyEnv: data-dir %q, log %q, max-wait %v, max-batch %d; want /from/env, from-flag, 250ms, 7", *dir, *log, *wait, *batch)
	}

	fs = flag.NewFlagSet("test", flag.ContinueOnError)
	fs.Int("max-batch", 7, "")
	err := applyEnv(fs, func(k string) string { return map[string]string{"INDELIBLE_MAX_BATCH": "many"}[k] })
	if err == nil || !strings.Contains(err.Error(), "INDELIBLE_MAX_BATCH") {
		t.Errorf("applyEnv with INDELIBLE_MAX_BATCH=many = %v, want an error naming the variable", err)
	}
}

// signedCheckpoint returns a signed checkpoint note of size n.
func signedCheckpoint(t *testing.T, signer note.Signer, n int) []byte {
	t.Helper()
	text := fmt.Sprintf("test/acme\n%d\n%s\n", n, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	msg, err := note.Sign(&note.Note{Text: text}, signer)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func TestSplitNotes(t *testing.T) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "test")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	a, b := signedCheckpoint(t, signer, 1), signedCheckpoint(t, signer, 2)
	crlf := func(p []byte) []byte { return bytes.ReplaceAll(p, []byte("\n"), []byte("\r\n")) }

	for _, tc := range []struct {
		name string
		in   []byte
		want [][]byte
		err  string // substring of the error, if any
	}{
		{name: "one note", in: a, want: [][]byte{a}},
		{name: "joined", in: joinNotes([][]byte{a, b}), want: [][]byte{a, b}},
		{name: "blank lines around", in: append(append([]byte("\n\n"), joinNotes([][]byte{a, b})...), "\n\n"...), want: [][]byte{a, b}},
		{name: "crlf", in: crlf(joinNotes([][]byte{a, b})), want: [][]byte{a, b}},
		{name: "no final newline", in: bytes.TrimSuffix(a, []byte("\n")), want: [][]byte{a}},
		{name: "empty", in: nil, err: "no signed checkpoint"},
		{name: "text only", in: []byte("test/acme\n1\nAAAA\n"), err: "no signatures"},
		{name: "text and blank line only", in: []byte("test/acme\n1\nAAAA\n\n"), err: "no signatures"},
		{name: "notes not separated", in: append(append([]byte{}, a...), b...), err: "line 6"},
		{name: "signature alone", in: a[bytes.Index(a, []byte("\n\n"))+2:], err: "signature line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := splitNotes(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("splitNotes(%q) = %q, %v; want error containing %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("splitNotes(%q): %v", tc.in, err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("splitNotes(%q) = %d notes, want %d", tc.in, len(got), len(tc.want))
			}
			for i := range got {
				if !bytes.Equal(got[i], tc.want[i]) {
					t.Errorf("splitNotes(%q)[%d] = %q, want %q", tc.in, i, got[i], tc.want[i])
				}
				if _, err := note.Open(got[i], note.VerifierList(verifier)); err != nil {
					t.Errorf("note %d does not open: %v", i, err)
				}
			}
		})
	}
}

// TestRunUsage checks the command dispatch and exit statuses without
// touching any data directory.
func TestRunUsage(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		env      map[string]string
		code     int
		stdout   string // substring wanted on standard output
		stderr   string // substring wanted on standard error
		noStdout bool
	}{
		{args: nil, code: exitUsage, stderr: "Commands:", noStdout: true},
		{args: []string{"--help"}, code: exitOK, stdout: "keys init"},
		{args: []string{"help", "append"}, code: exitOK, stdout: "INDELIBLE_MAX_BATCH"},
		{args: []string{"append", "--help"}, code: exitOK, stdout: "--checkpoint file"},
		{args: []string{"keys", "init", "-h"}, code: exitOK, stdout: "--name name"},
		{args: []string{"keys"}, code: exitUsage, stderr: "keys public"},
		{args: []string{"keys", "--help"}, code: exitOK, stdout: "keys public"},
		{args: []string{"append", "--data-dir", "d", "a", "b"}, code: exitUsage, stderr: "one FILE"},
		{args: []string{"nope"}, code: exitUsage, stderr: `unknown command "nope"`},
		{args: []string{"append", "--nope"}, code: exitUsage, stderr: "indelible append --help"},
		{args: []string{"append", "--log", "acme"}, code: exitUsage, stderr: "--data-dir is required"},
		{args: []string{"append", "--data-dir", "d", "--log", "a/b"}, code: exitUsage, stderr: "not allowed"},
		{args: []string{"append", "--log", "acme"}, env: map[string]string{"INDELIBLE_DATA_DIR": "d", "INDELIBLE_MAX_BATCH": "0"}, code: exitUsage, stderr: "--max-batch must be positive"},
		{args: []string{"verify"}, code: exitUsage, stderr: "INDELIBLE_DATA_DIR"},
		{args: []string{"version", "extra"}, code: exitUsage, stderr: "unexpected argument"},
		{args: []string{"version"}, code: exitOK, stdout: "indelible "},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdio{
				in: strings.NewReader(""), out: &stdout, err: &stderr,
				getenv: func(k string) string { return tc.env[k] },
			})
			if code != tc.code {
				t.Errorf("run(%q) = %d, want %d\nstdout:\n%s\nstderr:\n%s", tc.args, code, tc.code, &stdout, &stderr)
			}
			if !strings.Contains(stdout.String(), tc.stdout) {
				t.Errorf("run(%q) stdout = %q, want it to contain %q", tc.args, &stdout, tc.stdout)
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("run(%q) stderr = %q, want it to contain %q", tc.args, &stderr, tc.stderr)
			}
			if tc.noStdout && stdout.Len() > 0 {
				t.Errorf("run(%q) stdout = %q, want nothing", tc.args, &stdout)
			}
		})
	}
}
