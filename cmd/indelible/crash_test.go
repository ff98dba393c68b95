package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

var crashSeed = flag.Uint64("crash-seed", 0, "seed of TestCrashDuringAppend (0: from the clock)")

// crashLog is the log that TestCrashDuringAppend appends to.
const crashLog = "crash"

// Sizes of TestCrashDuringAppend: each round streams crashFresh new events
// (after the unacknowledged ones of the round before) into an append that
// commits them in transactions of crashMaxBatch, and kills it.
const (
	crashFresh    = 5000
	crashMaxBatch = 200
	crashMaxDelay = 300 * time.Millisecond // at first: it shrinks if rounds end before the kill
)

// eventRef names a sample event: sampleEvent(series, i).
type eventRef struct {
	series string
	i      int
}

func (r eventRef) id() string { return sampleID(r.series, r.i) }

// streamResult is what one killed (or finished) append printed.
type streamResult struct {
	acks    []appendAck
	killed  bool   // the process died of SIGKILL
	partial []byte // an incomplete last line, cut by the kill
	stderr  string
}

// TestCrashDuringAppend kills "indelible append" with SIGKILL at random
// moments while it appends a stream of events, and checks after each kill
// that every acknowledged event is in the log at its acknowledged index
// (in the database, and by appending it again, which must report it as a
// duplicate at the same index), that a kill never leaves part of a
// transaction behind, that verify passes and extends the checkpoint
// trusted after the round before, and that appending continues.
func TestCrashDuringAppend(t *testing.T) {
	rounds := 30
	if testing.Short() {
		rounds = 5
	}
	seed := *crashSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -crash-seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	dir := newTestDataDir(t)
	trustedCP := filepath.Join(t.TempDir(), "trusted.checkpoint")
	haveTrusted := false
	known := map[string]uint64{} // every committed event's index, acknowledged or not
	var size uint64              // the log's size
	var carry []eventRef         // the unacknowledged events of the round before
	var midStream, beforeAck, finished int
	maxDelay := crashMaxDelay

	for round := range rounds {
		input := append([]eventRef(nil), carry...)
		for i := range crashFresh {
			input = append(input, eventRef{fmt.Sprintf("r%02d", round), i})
		}

		// Usually kill a random time after the first acknowledgment, so
		// that the kill lands among the commits; sometimes a random time
		// after the start, so that it may land before the first commit.
		early := rng.IntN(5) == 0
		delay := time.Duration(rng.Int64N(int64(maxDelay)))
		res := appendAndKill(t, dir, input, early, delay)
		switch {
		case !res.killed:
			finished++
			// On a machine fast enough to append a round within the
			// delay, kill sooner.
			maxDelay = max(maxDelay/2, 5*time.Millisecond)
		case len(res.acks) == 0:
			beforeAck++
		default:
			midStream++
		}
		t.Logf("round %d: %d events in, killed %v after %v (early %v): %d acknowledged", round, len(input), res.killed, delay, early, len(res.acks))
		if len(res.partial) > 0 {
			t.Logf("round %d: the kill cut an acknowledgment line: %q", round, res.partial)
		}

		// The acknowledgments follow the input, and the ones already
		// known carry their index.
		for k, a := range res.acks {
			if want := input[k].id(); a.ID != want {
				t.Fatalf("round %d: acknowledgment %d is for %q, want %q (input order)", round, k, a.ID, want)
			}
			if idx, ok := known[a.ID]; ok && (!a.Duplicate || a.Index != idx) {
				t.Fatalf("round %d: %+v, but %s was committed at index %d before", round, a, a.ID, idx)
			}
		}

		size = checkCommitted(t, dir, round, input, res.acks, known, size)

		if size > 0 {
			var flags []string
			if haveTrusted {
				flags = []string{"--trusted", trustedCP}
			}
			wantVerified(t, runVerify(t, dir, crashLog, flags...), crashLog, size)
		}
		if t.Failed() {
			t.FailNow()
		}

		// Appended again, acknowledged and committed events come back as
		// duplicates at their index.
		if sample := sampleKnown(rng, res.acks, known, 40); len(sample) > 0 {
			var in bytes.Buffer
			for _, id := range sample {
				in.Write(eventLine(id))
			}
			acks := appendSamples(t, dir, crashLog, in.Bytes(), "--checkpoint", trustedCP, "--max-batch", strconv.Itoa(crashMaxBatch))
			haveTrusted = true
			for k, a := range acks {
				if a.ID != sample[k] || !a.Duplicate || a.Index != known[a.ID] {
					t.Fatalf("round %d: appended again, %s gave %+v, want a duplicate at index %d", round, sample[k], a, known[sample[k]])
				}
			}
		}

		carry = input[len(res.acks):]
		carry = carry[:min(len(carry), crashFresh)]
	}
	t.Logf("%d rounds: %d killed among the acknowledgments, %d killed before the first, %d finished before the kill; log size %d",
		rounds, midStream, beforeAck, finished, size)
	if midStream == 0 {
		t.Errorf("no kill landed among the acknowledgments: the test did not test what it is for")
	}

	// A last look at the whole log.
	db := openAttackerDB(t, dir)
	defer db.Close()
	rows, err := db.Query("SELECT seq, id FROM entries WHERE log = ? ORDER BY seq", dbLogID(t, db, crashLog))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var n uint64
	for rows.Next() {
		var seq uint64
		var id string
		if err := rows.Scan(&seq, &id); err != nil {
			t.Fatal(err)
		}
		if idx, ok := known[id]; seq != n || !ok || idx != seq {
			t.Fatalf("entry %d (after %d) holds %s, known at index %d (%v)", seq, n, id, idx, ok)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != size || len(known) != int(size) {
		t.Errorf("the log holds %d entries, %d events are known, want %d", n, len(known), size)
	}
}

// eventLine returns the NDJSON line of the sample event with this id.
func eventLine(id string) []byte {
	i := len(id) - 6
	n, err := strconv.Atoi(id[i:])
	if err != nil {
		panic(fmt.Sprintf("not a sample id: %q", id))
	}
	return sampleEvent(id[:i-1], n)
}

// sampleKnown picks up to n ids to append again: the first and last
// acknowledged ones, others at random among the acknowledged ones, and
// some among all committed ones.
func sampleKnown(rng *rand.Rand, acks []appendAck, known map[string]uint64, n int) []string {
	seen := map[string]bool{}
	var out []string
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	if len(acks) > 0 {
		add(acks[0].ID)
		add(acks[len(acks)-1].ID)
		for range n / 2 {
			add(acks[rng.IntN(len(acks))].ID)
		}
	}
	all := make([]string, 0, len(known))
	for id := range known {
		all = append(all, id)
	}
	if len(all) > 0 {
		for len(out) < n && len(out) < len(all) {
			add(all[rng.IntN(len(all))])
		}
	}
	return out
}

// appendAndKill starts append on the events of input, streamed by another
// goroutine, reads its acknowledgments, and kills it with SIGKILL delay
// after its first acknowledgment (or after its start if early is set). An
// append that ends first is not killed.
func appendAndKill(t *testing.T, dir string, input []eventRef, early bool, delay time.Duration) streamResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := binaryCommand(ctx, "append", "--data-dir", dir, "--log", crashLog, "--max-batch", strconv.Itoa(crashMaxBatch))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()

	// The writer streams the input; after a kill its writes fail, which
	// is expected and ends it.
	wrote := make(chan error, 1)
	go func() {
		w := bufio.NewWriterSize(stdin, 64<<10)
		for _, r := range input {
			if _, err := w.Write(sampleEvent(r.series, r.i)); err != nil {
				stdin.Close()
				wrote <- err
				return
			}
		}
		err := w.Flush()
		wrote <- errors.Join(err, stdin.Close())
	}()

	// The reader parses acknowledgments as they come.
	type line struct {
		ack     appendAck
		partial []byte
		err     error
	}
	lines := make(chan line, 1024)
	go func() {
		defer close(lines)
		br := bufio.NewReader(stdout)
		for {
			b, err := br.ReadBytes('\n')
			if err != nil {
				if len(b) > 0 {
					lines <- line{partial: b}
				}
				if err != io.EOF {
					lines <- line{err: err}
				}
				return
			}
			a, err := parseAppendAck(b)
			lines <- line{ack: a, err: err}
		}
	}()

	var res streamResult
	var kill <-chan time.Time
	if early {
		kill = time.After(delay)
	}
	killed := false
	for lines != nil {
		select {
		case l, ok := <-lines:
			switch {
			case !ok:
				lines = nil
				continue
			case l.partial != nil:
				res.partial = l.partial
				continue
			case l.err != nil:
				t.Errorf("reading acknowledgments: %v", l.err)
				continue
			}
			res.acks = append(res.acks, l.ack)
			if kill == nil && !killed {
				kill = time.After(delay)
			}
		case <-kill:
			kill = nil
			if !killed {
				killed = true
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
					t.Logf("kill after %v: %v", time.Since(start), err)
				}
			}
		}
	}
	err = cmd.Wait()
	<-wrote
	res.stderr = stderr.String()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && killed && !ee.Exited():
		ws, ok := ee.Sys().(syscall.WaitStatus)
		res.killed = ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
		if !res.killed {
			t.Fatalf("append died of %v, not of the kill\nstderr:\n%s", err, res.stderr)
		}
	default:
		t.Fatalf("append failed: %v (killed %v)\nstderr:\n%s", err, killed, res.stderr)
	}
	if !res.killed && len(res.acks) != len(input) {
		t.Fatalf("append ended without a kill after %d acknowledgments of %d events\nstderr:\n%s", len(res.acks), len(input), res.stderr)
	}
	return res
}

// checkCommitted reads what the log holds past size (its size before the
// round) and checks it against the round's input and acknowledgments:
// the committed events are exactly a prefix of the input, appended in
// order after size; every acknowledged one is at its acknowledged index;
// at most one transaction was committed without being acknowledged; and
// the log's head row and newest checkpoint agree on the new size, which
// it returns. It adds the new events to known.
func checkCommitted(t *testing.T, dir string, round int, input []eventRef, acks []appendAck, known map[string]uint64, size uint64) uint64 {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "indelible.db")); errors.Is(err, fs.ErrNotExist) && size == 0 && len(acks) == 0 {
		return 0 // killed before the data directory was set up
	}
	db := openAttackerDB(t, dir)
	defer db.Close()
	var logID int64
	err := db.QueryRow("SELECT id FROM logs WHERE name = ?", crashLog).Scan(&logID)
	if err != nil {
		if size == 0 && len(acks) == 0 {
			return 0 // killed before the log's first commit
		}
		t.Fatalf("round %d: looking up log %s: %v", round, crashLog, err)
	}
	rows, err := db.Query("SELECT seq, id FROM entries WHERE log = ? AND seq >= ? ORDER BY seq", logID, size)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	added := map[string]uint64{}
	next := size
	for rows.Next() {
		var seq uint64
		var id string
		if err := rows.Scan(&seq, &id); err != nil {
			t.Fatal(err)
		}
		if seq != next {
			t.Fatalf("round %d: entry %d follows %d", round, seq, next-1)
		}
		if idx, ok := known[id]; ok {
			t.Fatalf("round %d: %s at index %d was already at index %d", round, id, seq, idx)
		}
		added[id] = seq
		next++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	// The events of the log are a prefix of the input: the ones known
	// before the round (committed but not acknowledged in the round
	// before), then the new ones, in input order.
	prefix := 0
	want := size
	for _, r := range input {
		if _, ok := known[r.id()]; ok {
			prefix++
			continue
		}
		idx, ok := added[r.id()]
		if !ok {
			break
		}
		if idx != want {
			t.Fatalf("round %d: %s is at index %d, want %d (input order)", round, r.id(), idx, want)
		}
		want++
		prefix++
	}
	if want != next {
		t.Fatalf("round %d: %d entries were added, but only the first %d follow the input", round, next-size, want-size)
	}
	for _, r := range input[prefix:] {
		if idx, ok := known[r.id()]; ok {
			t.Fatalf("round %d: %s is at index %d, past the committed prefix of %d events", round, r.id(), idx, prefix)
		}
	}
	if prefix < len(acks) {
		t.Fatalf("round %d: %d events acknowledged, but only %d committed", round, len(acks), prefix)
	}
	if prefix > len(acks) {
		t.Logf("round %d: the first %d events of the input are in the log, %d were acknowledged", round, prefix, len(acks))
	}
	if prefix-len(acks) > crashMaxBatch {
		t.Errorf("round %d: %d events committed but not acknowledged, more than one transaction of %d", round, prefix-len(acks), crashMaxBatch)
	}
	for id, idx := range added {
		known[id] = idx
	}
	for _, a := range acks {
		if idx, ok := known[a.ID]; !ok || idx != a.Index {
			t.Fatalf("round %d: %s was acknowledged at index %d, the log has it at %d (%v)", round, a.ID, a.Index, idx, ok)
		}
	}

	var headSize, cpSize uint64
	if err := db.QueryRow("SELECT size FROM logs WHERE id = ?", logID).Scan(&headSize); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("SELECT coalesce(max(size), 0) FROM checkpoints WHERE log = ?", logID).Scan(&cpSize); err != nil {
		t.Fatal(err)
	}
	if headSize != next || cpSize != next {
		t.Fatalf("round %d: %d entries, but the head row says %d and the newest checkpoint %d", round, next, headSize, cpSize)
	}
	return next
}
