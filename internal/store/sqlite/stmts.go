package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// stmts holds the statements of one pool, each prepared once. The driver
// parses the text of every statement it is given as text, which costs
// more than running the small statements of an append or an index write:
// with one commit per few events (many clients sending one event each),
// parsing was a tenth of the server's time. A *sql.Stmt is prepared again
// on each connection of the pool that runs it, once.
//
// The statements of a single-connection writer pool are all prepared by
// prepare before use: preparing one while a transaction holds the only
// connection would wait for it forever.
type stmts struct {
	db   *sql.DB
	lazy bool // prepare on first use (pools of several connections)
	mu   sync.Mutex
	m    map[string]*sql.Stmt // guarded by mu
}

// newStmts returns the statements of db, prepared on first use if lazy,
// else only by prepare.
func newStmts(db *sql.DB, lazy bool) *stmts {
	return &stmts{db: db, lazy: lazy, m: make(map[string]*sql.Stmt)}
}

// prepare prepares queries.
func (s *stmts) prepare(ctx context.Context, queries ...string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range queries {
		if _, ok := s.m[q]; ok {
			continue
		}
		st, err := s.db.PrepareContext(ctx, q)
		if err != nil {
			return fmt.Errorf("preparing %q: %w", q, err)
		}
		s.m[q] = st
	}
	return nil
}

// get returns the statement of query.
func (s *stmts) get(ctx context.Context, query string) (*sql.Stmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.m[query]; ok {
		return st, nil
	}
	if !s.lazy {
		return nil, fmt.Errorf("statement %q was not prepared", query)
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("preparing %q: %w", query, err)
	}
	s.m[query] = st
	return st, nil
}

// tx returns the statement of query for use in tx.
func (s *stmts) tx(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	st, err := s.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return tx.StmtContext(ctx, st), nil
}

// exec runs query in tx.
func (s *stmts) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	st, err := s.tx(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// queryRow runs query in tx, or on the pool if tx is nil. A failure to
// prepare surfaces from Scan.
func (s *stmts) queryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	st, err := s.get(ctx, query)
	if err != nil {
		// A *sql.Row cannot be built with an error; run the text, which
		// fails the same way.
		if tx != nil {
			return tx.QueryRowContext(ctx, query, args...)
		}
		return s.db.QueryRowContext(ctx, query, args...)
	}
	if tx != nil {
		st = tx.StmtContext(ctx, st)
	}
	return st.QueryRowContext(ctx, args...)
}

// query runs query on the pool.
func (s *stmts) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// close closes every statement.
func (s *stmts) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, st := range s.m {
		errs = append(errs, st.Close())
	}
	clear(s.m)
	return errors.Join(errs...)
}

// valuesSQL returns n groups of k placeholders: "(?, ?), (?, ?)" for
// n = 2, k = 2.
func valuesSQL(n, k int) string {
	group := "(" + strings.TrimSuffix(strings.Repeat("?, ", k), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(group+", ", n), ", ")
}

// inserts are the multi-row forms of one INSERT: a statement per size,
// largest first, their texts built once. One statement of 100 rows costs
// much less than 100 statements of one row, and any number of rows takes
// at most one statement of each size below 100.
type inserts struct {
	sizes [8]int
	sql   [8]string
	stmt  [8]*sql.Stmt // prepared by prepare
}

// newInserts returns the forms of the INSERT whose text for n rows is
// sqlFor(n).
func newInserts(sqlFor func(n int) string) *inserts {
	in := &inserts{sizes: [8]int{100, 64, 32, 16, 8, 4, 2, 1}}
	for i, n := range in.sizes {
		in.sql[i] = sqlFor(n)
	}
	return in
}

// prepare prepares the statements in s (a writer's, before any
// transaction).
func (in *inserts) prepare(ctx context.Context, s *stmts) error {
	if err := s.prepare(ctx, in.sql[:]...); err != nil {
		return err
	}
	for i, q := range in.sql {
		st, err := s.get(ctx, q)
		if err != nil {
			return err
		}
		in.stmt[i] = st
	}
	return nil
}

// each calls fn for consecutive runs [lo, hi) of n rows, each with the
// prepared statement that inserts that many.
func (in *inserts) each(n int, fn func(st *sql.Stmt, lo, hi int) error) error {
	for lo := 0; lo < n; {
		i := 0
		for in.sizes[i] > n-lo {
			i++
		}
		hi := lo + in.sizes[i]
		if err := fn(in.stmt[i], lo, hi); err != nil {
			return err
		}
		lo = hi
	}
	return nil
}
