// Copyright (c) 2026, rtcstack.livekit contributors
// GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

// rtcstack-loadgen: one generator host's share of a load test, the `go` engine of the
// rtcstack.livekit.load_test module (plugins/module_utils/_loadtest/engines/go.py runs it).
//
// Input: the job as JSON on stdin, the API secret in LIVEKIT_API_SECRET. Output: JSON lines on
// stdout, {"type": "sample", ...} every progress interval and one {"type": "result", ...} at the end.
// Publishers loop pre-encoded clips (clips.go); subscribers read RTP without decoding, count
// packets and payload bytes, and find lost packets from the RTP sequence numbers.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/signal"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	protoLogger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

const maxErrors = 100

type memberSpec struct {
	Identity string `json:"identity"`
	Room     string `json:"room"`
	Kind     string `json:"kind"` // video, audio or subscriber
}

type jobSpec struct {
	URL              string       `json:"url"`
	APIKey           string       `json:"api_key"`
	Members          []memberSpec `json:"members"`
	StartAt          float64      `json:"start_at"`
	JoinRate         float64      `json:"join_rate"`
	Duration         float64      `json:"duration"`
	Height           int          `json:"height"`
	Codec            string       `json:"codec"`
	Simulcast        bool         `json:"simulcast"`
	ProgressInterval float64      `json:"progress_interval"`
	Deadline         float64      `json:"deadline"` // epoch seconds: leave by then whatever happens
	ConnectTimeout   float64      `json:"connect_timeout"`
	TokenTTL         float64      `json:"token_ttl"`
}

// subscription is what one subscriber measured for one remote track.
type subscription struct {
	Subscriber    string  `json:"subscriber"`
	Track         string  `json:"track"`
	Kind          string  `json:"kind"`
	From          string  `json:"from"` // published: the subscriber saw the track announced; joined: the track was there when it joined
	Start         float64 `json:"start"`
	SubscribedAt  float64 `json:"subscribed_at"`
	FirstPacketAt float64 `json:"first_packet_at"`
	Packets       int64   `json:"packets"`
	Bytes         int64   `json:"bytes"`
	Lost          int64   `json:"lost"`
	JitterMs      float64 `json:"jitter_ms"`

	packets, bytes atomic.Int64
	firstPacket    atomic.Int64 // unix nanoseconds
	lock           sync.Mutex
	stats          rtpStats
}

// rtpStats: loss (RFC 3550 A.3: expected from the highest extended sequence number minus received)
// and interarrival jitter (RFC 3550 A.8), from the RTP headers only.
type rtpStats struct {
	started     bool
	base        int64
	highest     int64
	received    int64
	transit     float64
	jitter      float64
	clockRate   float64
	lastArrival time.Time
}

func (s *rtpStats) push(seq uint16, ts uint32, arrival time.Time) {
	if !s.started {
		s.started, s.base, s.highest = true, int64(seq), int64(seq)
	} else {
		delta := int64(int16(seq - uint16(s.highest)))
		if delta > 0 {
			s.highest += delta
		}
	}
	s.received++
	if s.clockRate > 0 {
		transit := float64(arrival.UnixNano())/1e9*s.clockRate - float64(ts)
		if s.received > 1 {
			d := math.Abs(transit - s.transit)
			if d < s.clockRate*10 { // a jump of the RTP clock (a layer switch) is not jitter
				s.jitter += (d - s.jitter) / 16
			}
		}
		s.transit = transit
	}
}

func (s *rtpStats) lost() int64 {
	if !s.started {
		return 0
	}
	lost := s.highest - s.base + 1 - s.received
	if lost < 0 {
		return 0
	}
	return lost
}

type member struct {
	spec           memberSpec
	room           *lksdk.Room
	connectStart   time.Time
	connectedAt    time.Time
	failed         atomic.Bool
	disconnected   atomic.Bool
	tracks         int
	publishedAt    sync.Map // track sid -> time.Time when the announcement reached this subscriber
	subscriptions  sync.Map // track sid -> *subscription
	bytesSent      atomic.Int64
	publisherClips []*looper
	quality        livekit.VideoQuality // the simulcast layer this subscriber asks for
}

type run struct {
	job     jobSpec
	secret  string
	members []*member
	leaving atomic.Bool

	errLock sync.Mutex
	errors  []string
	dropped int

	outLock sync.Mutex
	out     *json.Encoder

	audio  *clip
	video  []*clip // simulcast layers, lowest first (one without simulcast)
	layers []int   // index into layers of each entry of video
}

func (r *run) error(format string, args ...interface{}) {
	r.errLock.Lock()
	defer r.errLock.Unlock()
	if len(r.errors) < maxErrors {
		r.errors = append(r.errors, fmt.Sprintf(format, args...))
	} else {
		r.dropped++
	}
}

func (r *run) emit(v interface{}) {
	r.outLock.Lock()
	defer r.outLock.Unlock()
	_ = r.out.Encode(v)
}

func epoch(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

func fromEpoch(s float64) time.Time {
	return time.Unix(0, int64(s*1e9))
}

// loadClips picks the clips of the plan: the top layer nearest to the plan's height (90, 180, 360
// or 720 lines), and with simulcast up to two layers below it.
func (r *run) loadClips() error {
	var err error
	if r.audio, err = loadClip("audio.ogg", 50); err != nil {
		return err
	}
	video := false
	for _, m := range r.job.Members {
		video = video || m.Kind == "video"
	}
	if !video {
		return nil
	}
	top := 0
	for i, l := range layers {
		if math.Abs(float64(l.height-r.job.Height)) < math.Abs(float64(layers[top].height-r.job.Height)) {
			top = i
		}
	}
	low := top
	if r.job.Simulcast {
		low = top - 2
		if low < 0 {
			low = 0
		}
	}
	ext := map[string]string{"vp8": "ivf", "h264": "h264"}[r.job.Codec]
	if ext == "" {
		return fmt.Errorf("codec %q: the go engine sends vp8 or h264", r.job.Codec)
	}
	for i := low; i <= top; i++ {
		c, err := loadClip(fmt.Sprintf("%s-%d.%s", r.job.Codec, layers[i].height, ext), layers[i].fps)
		if err != nil {
			return err
		}
		r.video = append(r.video, c)
		r.layers = append(r.layers, i)
	}
	return nil
}

func (r *run) token(m *member) (string, error) {
	publish := m.spec.Kind != "subscriber"
	subscribe, data := true, false
	at := auth.NewAccessToken(r.job.APIKey, r.secret)
	at.SetVideoGrant(&auth.VideoGrant{RoomJoin: true, Room: m.spec.Room, CanPublish: &publish,
		CanSubscribe: &subscribe, CanPublishData: &data}).
		SetIdentity(m.spec.Identity).SetName(m.spec.Identity).
		SetValidFor(time.Duration(r.job.TokenTTL * float64(time.Second)))
	return at.ToJWT()
}

func (r *run) join(m *member) {
	token, err := r.token(m)
	if err != nil {
		m.failed.Store(true)
		r.error("%s: cannot make a token: %v", m.spec.Identity, err)
		return
	}
	cb := lksdk.NewRoomCallback()
	cb.OnTrackPublished = func(pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
		m.publishedAt.LoadOrStore(pub.SID(), time.Now())
		if pub.Kind() == lksdk.TrackKindVideo {
			_ = pub.SetVideoQuality(m.quality)
		}
	}
	cb.OnTrackSubscribed = func(track *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
		r.consume(m, track, pub)
	}
	cb.OnTrackSubscriptionFailed = func(sid string, rp *lksdk.RemoteParticipant) {
		r.error("%s: subscription to %s failed", m.spec.Identity, sid)
	}
	cb.OnDisconnectedWithReason = func(reason lksdk.DisconnectionReason) {
		m.disconnected.Store(true)
		if !r.leaving.Load() {
			r.error("%s: disconnected by the server (%s)", m.spec.Identity, reason)
		}
	}
	room := lksdk.NewRoom(cb)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.job.ConnectTimeout*float64(time.Second)))
	defer cancel()
	m.connectStart = time.Now()
	opts := []lksdk.ConnectOption{lksdk.WithAutoSubscribe(m.spec.Kind == "subscriber")}
	if m.spec.Kind != "subscriber" {
		opts = append(opts, lksdk.WithInterceptors([]interceptor.Factory{sentCounterFactory{&m.bytesSent}}),
			lksdk.WithIncludeDefaultInterceptors(true))
	}
	err = room.JoinWithContextAndToken(ctx, r.job.URL, token, opts...)
	if err != nil {
		m.failed.Store(true)
		r.error("%s: join failed: %v", m.spec.Identity, err)
		return
	}
	m.connectedAt = time.Now()
	m.room = room
	if m.spec.Kind == "subscriber" {
		return
	}
	if err := r.publish(m); err != nil {
		r.error("%s: publish failed: %v", m.spec.Identity, err)
	}
}

func (r *run) publish(m *member) error {
	audio := &looper{clip: r.audio}
	track, err := lksdk.NewLocalTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2})
	if err != nil {
		return err
	}
	if err := track.StartWrite(audio, nil); err != nil {
		return err
	}
	if _, err := m.room.LocalParticipant.PublishTrack(track, &lksdk.TrackPublicationOptions{
		Name: "microphone", Source: livekit.TrackSource_MICROPHONE}); err != nil {
		return err
	}
	m.tracks++
	if m.spec.Kind != "video" {
		return nil
	}
	mime := map[string]string{"vp8": webrtc.MimeTypeVP8, "h264": webrtc.MimeTypeH264}[r.job.Codec]
	codec := webrtc.RTPCodecCapability{MimeType: mime, ClockRate: 90000}
	if r.job.Codec == "h264" {
		codec.SDPFmtpLine = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
	}
	top := layers[r.layers[len(r.layers)-1]]
	opts := &lksdk.TrackPublicationOptions{Name: "camera", Source: livekit.TrackSource_CAMERA,
		VideoWidth: top.width, VideoHeight: top.height}
	if !r.job.Simulcast {
		l := &looper{clip: r.video[0]}
		m.publisherClips = append(m.publisherClips, l)
		video, err := lksdk.NewLocalTrack(codec, lksdk.WithRTCPHandler(l.onRTCP))
		if err != nil {
			return err
		}
		if err := video.StartWrite(l, nil); err != nil {
			return err
		}
		if _, err := m.room.LocalParticipant.PublishTrack(video, opts); err != nil {
			return err
		}
		m.tracks++
		return nil
	}
	var tracks []*lksdk.LocalTrack
	for i, c := range r.video {
		l := &looper{clip: c}
		m.publisherClips = append(m.publisherClips, l)
		spec := layers[r.layers[i]]
		layer := &livekit.VideoLayer{Quality: livekit.VideoQuality(i), Width: uint32(spec.width),
			Height: uint32(spec.height), Bitrate: uint32(spec.bitrate)}
		t, err := lksdk.NewLocalTrack(codec, lksdk.WithSimulcast("camera", layer), lksdk.WithRTCPHandler(l.onRTCP))
		if err != nil {
			return err
		}
		if err := t.StartWrite(l, nil); err != nil {
			return err
		}
		tracks = append(tracks, t)
	}
	if _, err := m.room.LocalParticipant.PublishSimulcastTrack(tracks, opts); err != nil {
		return err
	}
	m.tracks++
	return nil
}

// consume reads a subscribed track's RTP packets without decoding them.
func (r *run) consume(m *member, track *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication) {
	now := time.Now()
	s := &subscription{Subscriber: m.spec.Identity, Track: pub.SID(), Kind: string(pub.Kind()),
		SubscribedAt: epoch(now)}
	s.stats.clockRate = float64(track.Codec().ClockRate)
	// The start: when the subscriber learned of the track while in the room; for a track that was
	// there when it joined (announced before the join completed), the start of its own join.
	s.From, s.Start = "joined", epoch(m.connectStart)
	if v, ok := m.publishedAt.Load(pub.SID()); ok && !m.connectedAt.IsZero() && !v.(time.Time).Before(m.connectedAt) {
		s.From, s.Start = "published", epoch(v.(time.Time))
	}
	if _, loaded := m.subscriptions.LoadOrStore(pub.SID(), s); loaded {
		return
	}
	if pub.Kind() == lksdk.TrackKindVideo {
		_ = pub.SetVideoQuality(m.quality)
	}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, _, err := track.Read(buf)
			if err != nil {
				return
			}
			arrival := time.Now()
			if n < 12 || buf[0]>>6 != 2 {
				continue
			}
			header := 12 + 4*int(buf[0]&0x0f)
			if buf[0]&0x10 != 0 && n >= header+4 {
				header += 4 + 4*int(uint16(buf[header+2])<<8|uint16(buf[header+3]))
			}
			payload := n - header
			if buf[0]&0x20 != 0 && n > header {
				payload -= int(buf[n-1])
			}
			if payload < 0 {
				payload = 0
			}
			s.firstPacket.CompareAndSwap(0, arrival.UnixNano())
			s.packets.Add(1)
			s.bytes.Add(int64(payload))
			seq := uint16(buf[2])<<8 | uint16(buf[3])
			ts := uint32(buf[4])<<24 | uint32(buf[5])<<16 | uint32(buf[6])<<8 | uint32(buf[7])
			s.lock.Lock()
			s.stats.push(seq, ts, arrival)
			s.lock.Unlock()
		}
	}()
}

func (r *run) totals() (connected, failed int, bytes, packets, lost int64) {
	for _, m := range r.members {
		if m.room != nil && !m.failed.Load() && !m.disconnected.Load() {
			connected++
		}
		if m.failed.Load() {
			failed++
		}
		m.subscriptions.Range(func(_, v interface{}) bool {
			s := v.(*subscription)
			bytes += s.bytes.Load()
			packets += s.packets.Load()
			s.lock.Lock()
			lost += s.stats.lost()
			s.lock.Unlock()
			return true
		})
	}
	return
}

func (r *run) sample() {
	connected, failed, bytes, packets, lost := r.totals()
	r.emit(map[string]interface{}{"type": "sample", "t": epoch(time.Now()), "connected": connected, "failed": failed,
		"bytes_received": bytes, "packets_received": packets, "packets_lost": lost})
}

// sentCounter counts the RTP payload bytes a participant's peer connections send.
type sentCounter struct {
	interceptor.NoOp
	bytes *atomic.Int64
}

func (c *sentCounter) BindLocalStream(info *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		c.bytes.Add(int64(len(payload)))
		return writer.Write(h, payload, a)
	})
}

type sentCounterFactory struct{ bytes *atomic.Int64 }

func (f sentCounterFactory) NewInterceptor(id string) (interceptor.Interceptor, error) {
	return &sentCounter{bytes: f.bytes}, nil
}

func sleepUntil(t time.Time, stop <-chan struct{}) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-stop:
		return false
	}
}

func (r *run) main(stop <-chan struct{}) map[string]interface{} {
	deadline := fromEpoch(r.job.Deadline)
	complete := true
	if !sleepUntil(fromEpoch(r.job.StartAt), stop) {
		complete = false
	}
	started := time.Now()
	r.emit(map[string]interface{}{"type": "started", "t": epoch(started)})
	n := len(r.members)
	ticker := time.NewTicker(time.Duration(r.job.ProgressInterval * float64(time.Second)))
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-ticker.C:
				r.sample()
			case <-done:
				return
			}
		}
	}()
	var joins sync.WaitGroup
	for i, m := range r.members {
		if !complete {
			break
		}
		at := started.Add(time.Duration(float64(i) / r.job.JoinRate * float64(time.Second)))
		if !sleepUntil(at, stop) {
			complete = false
			break
		}
		joins.Add(1)
		go func(m *member) {
			defer joins.Done()
			r.join(m)
		}(m)
	}
	joined := make(chan struct{})
	go func() {
		joins.Wait()
		close(joined)
	}()
	end := started.Add(time.Duration((float64(n)/r.job.JoinRate + r.job.Duration) * float64(time.Second)))
	if end.After(deadline) {
		end = deadline
	}
	if complete {
		select {
		case <-joined:
			complete = sleepUntil(end, stop)
		case <-stop:
			complete = false
		case <-time.After(time.Until(deadline)):
			complete = false
			r.error("the run did not end before its hard deadline; results are partial")
		}
	}
	ticker.Stop()
	close(done)
	r.sample()
	r.leaving.Store(true)
	var leave sync.WaitGroup
	for _, m := range r.members {
		if m.room == nil {
			continue
		}
		leave.Add(1)
		go func(m *member) {
			defer leave.Done()
			m.room.Disconnect()
		}(m)
	}
	left := make(chan struct{})
	go func() {
		leave.Wait()
		close(left)
	}()
	select {
	case <-left:
	case <-time.After(10 * time.Second):
		complete = false
		r.error("leaving the rooms did not finish within 10 s")
	}
	return r.result(started, complete)
}

func (r *run) result(started time.Time, complete bool) map[string]interface{} {
	members := []map[string]interface{}{}
	subs := []*subscription{}
	for _, m := range r.members {
		members = append(members, map[string]interface{}{
			"identity": m.spec.Identity, "room": m.spec.Room, "kind": m.spec.Kind,
			"connect_start": epoch(m.connectStart), "connected_at": epoch(m.connectedAt),
			"failed": m.failed.Load(), "tracks_published": m.tracks, "bytes_sent": m.bytesSent.Load()})
		m.subscriptions.Range(func(_, v interface{}) bool {
			s := v.(*subscription)
			s.Packets, s.Bytes = s.packets.Load(), s.bytes.Load()
			if first := s.firstPacket.Load(); first != 0 {
				s.FirstPacketAt = float64(first) / 1e9
			}
			s.lock.Lock()
			s.Lost = s.stats.lost()
			if s.stats.clockRate > 0 {
				s.JitterMs = math.Round(s.stats.jitter/s.stats.clockRate*1e6) / 1e3
			}
			s.lock.Unlock()
			subs = append(subs, s)
			return true
		})
	}
	sort.Slice(subs, func(i, j int) bool { return subs[i].Subscriber+subs[i].Track < subs[j].Subscriber+subs[j].Track })
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
	r.errLock.Lock()
	errs := append([]string{}, r.errors...)
	if r.dropped > 0 {
		errs = append(errs, fmt.Sprintf("... and %d more errors", r.dropped))
	}
	r.errLock.Unlock()
	return map[string]interface{}{
		"type": "result", "started_at": epoch(started), "ended_at": epoch(time.Now()), "complete": complete,
		"members": members, "subscriptions": subs, "errors": errs,
		"process": map[string]interface{}{"cpu_seconds": cpu, "max_rss_bytes": ru.Maxrss * 1024},
	}
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-version" {
		fmt.Println(version())
		return
	}
	lksdk.SetLogger(protoLogger.GetDiscardLogger())
	out := json.NewEncoder(os.Stdout)
	fail := func(format string, args ...interface{}) {
		_ = out.Encode(map[string]interface{}{"type": "fatal", "error": fmt.Sprintf(format, args...)})
		os.Exit(2)
	}
	var job jobSpec
	if err := json.NewDecoder(os.Stdin).Decode(&job); err != nil {
		fail("cannot read the job on stdin: %v", err)
	}
	secret := os.Getenv("LIVEKIT_API_SECRET")
	if job.URL == "" || job.APIKey == "" || secret == "" {
		fail("the job needs url and api_key, and LIVEKIT_API_SECRET in the environment")
	}
	if job.JoinRate <= 0 || job.Duration <= 0 || job.ProgressInterval <= 0 || job.ConnectTimeout <= 0 {
		fail("join_rate, duration, progress_interval and connect_timeout must be above 0")
	}
	r := &run{job: job, secret: secret, out: out}
	// Subscribers ask for the simulcast layers in turn (high, medium, low), as a room of viewers with
	// different window sizes does, so that publishers send every layer.
	qualities := []livekit.VideoQuality{livekit.VideoQuality_HIGH, livekit.VideoQuality_MEDIUM, livekit.VideoQuality_LOW}
	subscribers := 0
	for _, spec := range job.Members {
		m := &member{spec: spec, quality: livekit.VideoQuality_HIGH}
		if spec.Kind == "subscriber" {
			m.quality = qualities[subscribers%len(qualities)]
			subscribers++
		}
		r.members = append(r.members, m)
	}
	if err := r.loadClips(); err != nil {
		fail("%v", err)
	}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	stop := make(chan struct{})
	go func() {
		<-signals
		r.error("stopped by a signal before the planned end; results are partial")
		close(stop)
	}()
	r.emit(r.main(stop))
}
