package bearer

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
)

// One RemoteJWKS or Discover value serves every middleware opened with it:
// one fetcher, one key cache, one background goroutine, whatever the
// number of middlewares (a Handler and a gRPC interceptor, two modes of
// one API). Sharing is per WithAlgorithms allowlist, which decides the
// keys a set yields: middlewares that allow other algorithms each get
// their own store. Each middleware's logger and observer hear of every
// fetch and key miss of the store it shares. The store stops when the
// last of its middlewares closes; a middleware opened after that starts
// a new one.

// sharedStores are the stores a remoteSource's middlewares share.
type sharedStores struct {
	mu     sync.Mutex
	stores map[algSet]*sharedRemote
}

// sharedRemote is one store and the middlewares that use it, one sink each.
type sharedRemote struct {
	st    *remoteStore
	sinks *sinks
}

func (s *remoteSource) open(env sourceEnv) (keyStore, error) {
	sh := &s.shared
	sh.mu.Lock()
	defer sh.mu.Unlock()
	logger := env.logger
	if logger == nil {
		logger = slog.Default()
	}
	var id uint64
	r, ok := sh.stores[env.allow]
	if ok {
		id = r.sinks.add(logger, env.observer)
	} else {
		// The first middleware hears of the first fetch, which starts
		// with the store: its sink is there before.
		fan := &sinks{}
		id = fan.add(logger, env.observer)
		shared := env
		shared.logger = slog.New(fanHandler{sinks: fan})
		shared.observer = fanObserver{s: fan}
		st, err := s.start(shared)
		if err != nil {
			return nil, err
		}
		r = &sharedRemote{st: st, sinks: fan}
		if sh.stores == nil {
			sh.stores = make(map[algSet]*sharedRemote)
		}
		sh.stores[env.allow] = r
	}
	h := &remoteHandle{remoteStore: r.st}
	h.release = func() error {
		sh.mu.Lock()
		defer sh.mu.Unlock()
		r.sinks.remove(id)
		if len(r.sinks.all()) > 0 { // another middleware still uses it
			return nil
		}
		delete(sh.stores, env.allow)
		return r.st.close()
	}
	return h, nil
}

// remoteHandle is one middleware's use of a shared store.
type remoteHandle struct {
	*remoteStore
	once    sync.Once
	release func() error
}

func (h *remoteHandle) close() error {
	var err error
	h.once.Do(func() { err = h.release() })
	return err
}

// sinks are the loggers and observers of the middlewares sharing a store.
type sinks struct {
	next uint64
	list atomic.Pointer[[]sink] // copied on change, read without locks
	mu   sync.Mutex
}

type sink struct {
	id       uint64
	logger   *slog.Logger
	observer Observer
}

func (s *sinks) add(l *slog.Logger, o Observer) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.next++
	var list []sink
	if p := s.list.Load(); p != nil {
		list = append(list, *p...)
	}
	list = append(list, sink{id: s.next, logger: l, observer: o})
	s.list.Store(&list)
	return s.next
}

func (s *sinks) remove(id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []sink
	for _, k := range s.all() {
		if k.id != id {
			list = append(list, k)
		}
	}
	s.list.Store(&list)
}

func (s *sinks) all() []sink {
	if p := s.list.Load(); p != nil {
		return *p
	}
	return nil
}

// fanObserver tells every sharing middleware's observer of the store's
// key events; a store reports no request events.
type fanObserver struct {
	NopObserver
	s *sinks
}

func (f fanObserver) each(fn func(Observer)) {
	for _, k := range f.s.all() {
		if k.observer != nil {
			fn(k.observer)
		}
	}
}

func (f fanObserver) KeysFetched(e FetchEvent) { f.each(func(o Observer) { o.KeysFetched(e) }) }
func (f fanObserver) KeyMiss(e KeyMissEvent)   { f.each(func(o Observer) { o.KeyMiss(e) }) }
func (f fanObserver) KeysStale(e StaleEvent)   { f.each(func(o Observer) { o.KeysStale(e) }) }
func (f fanObserver) KeysExpired(e StaleEvent) { f.each(func(o Observer) { o.KeysExpired(e) }) }

// fanHandler logs to every sharing middleware's logger. Attributes and
// groups added with With are replayed on each logger's handler.
type fanHandler struct {
	sinks *sinks
	with  []func(slog.Handler) slog.Handler
}

func (f fanHandler) Enabled(ctx context.Context, level slog.Level) bool {
	for _, k := range f.sinks.all() {
		if k.logger.Enabled(ctx, level) {
			return true
		}
	}
	return false
}

func (f fanHandler) Handle(ctx context.Context, r slog.Record) error {
	for _, k := range f.sinks.all() {
		h := k.logger.Handler()
		for _, w := range f.with {
			h = w(h)
		}
		if h.Enabled(ctx, r.Level) {
			h.Handle(ctx, r.Clone())
		}
	}
	return nil
}

func (f fanHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return f.derive(func(h slog.Handler) slog.Handler { return h.WithAttrs(attrs) })
}

func (f fanHandler) WithGroup(name string) slog.Handler {
	return f.derive(func(h slog.Handler) slog.Handler { return h.WithGroup(name) })
}

func (f fanHandler) derive(w func(slog.Handler) slog.Handler) fanHandler {
	with := append(append([]func(slog.Handler) slog.Handler(nil), f.with...), w)
	return fanHandler{sinks: f.sinks, with: with}
}
