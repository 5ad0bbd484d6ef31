// Copyright (c) 2026, rtcstack.livekit contributors
// GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

// The pre-encoded clips: read once from the binary (scripts/build-loadgen.sh encodes them at build
// time from generated sources) and looped by every publisher; nothing is encoded at run time.

package main

import (
	"bytes"
	"embed"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"context"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4/pkg/media"
)

//go:embed clips
var clipFiles embed.FS

// Layer heights the build encodes (16:9), and their bitrate (bits/s) and frame rate.
var layers = []struct {
	width, height, bitrate, fps int
}{
	{160, 90, 90000, 15},
	{320, 180, 150000, 15},
	{640, 360, 500000, 15},
	{1280, 720, 1500000, 25},
}

// clip is one encoded stream: its frames (samples) and the duration of each.
type clip struct {
	frames   [][]byte
	duration time.Duration
}

func (c *clip) bytes() int {
	n := 0
	for _, f := range c.frames {
		n += len(f)
	}
	return n
}

// readIVF splits an IVF file (VP8) into frames.
func readIVF(data []byte) ([][]byte, error) {
	if len(data) < 32 || string(data[:4]) != "DKIF" {
		return nil, errors.New("not an IVF file")
	}
	header := int(binary.LittleEndian.Uint16(data[6:8]))
	var frames [][]byte
	for pos := header; pos < len(data); {
		if pos+12 > len(data) {
			return nil, errors.New("IVF frame header cut off")
		}
		size := int(binary.LittleEndian.Uint32(data[pos : pos+4]))
		pos += 12
		if pos+size > len(data) {
			return nil, errors.New("IVF frame cut off")
		}
		frames = append(frames, data[pos:pos+size])
		pos += size
	}
	return frames, nil
}

// readAnnexB splits an H.264 Annex B stream into access units: the NAL units up to and including
// each slice (the encoder writes one slice per frame).
func readAnnexB(data []byte) ([][]byte, error) {
	var frames [][]byte
	start := -1
	unit := 0
	for i := 0; i+3 <= len(data); {
		if data[i] == 0 && data[i+1] == 0 && (data[i+2] == 1 || (i+4 <= len(data) && data[i+2] == 0 && data[i+3] == 1)) {
			codeLen := 3
			if data[i+2] == 0 {
				codeLen = 4
			}
			if start >= 0 && (data[start]&0x1f == 1 || data[start]&0x1f == 5) {
				frames = append(frames, data[unit:i])
				unit = i
			}
			start = i + codeLen
			i += codeLen
			continue
		}
		i++
	}
	if start >= 0 && start < len(data) && (data[start]&0x1f == 1 || data[start]&0x1f == 5) {
		frames = append(frames, data[unit:])
	}
	if len(frames) == 0 {
		return nil, errors.New("no H.264 frame found")
	}
	return frames, nil
}

// readOggOpus returns the Opus packets of an Ogg file, without the two header packets.
func readOggOpus(data []byte) ([][]byte, error) {
	var packets [][]byte
	var current []byte
	for pos := 0; pos < len(data); {
		if pos+27 > len(data) || string(data[pos:pos+4]) != "OggS" {
			return nil, errors.New("not an Ogg page")
		}
		segments := int(data[pos+26])
		table := data[pos+27 : pos+27+segments]
		pos += 27 + segments
		for _, lace := range table {
			if pos+int(lace) > len(data) {
				return nil, errors.New("Ogg page cut off")
			}
			current = append(current, data[pos:pos+int(lace)]...)
			pos += int(lace)
			if lace < 255 {
				packets = append(packets, current)
				current = nil
			}
		}
	}
	if len(packets) < 3 || !bytes.HasPrefix(packets[0], []byte("OpusHead")) {
		return nil, errors.New("no Opus stream")
	}
	return packets[2:], nil
}

func loadClip(name string, fps int) (*clip, error) {
	data, err := clipFiles.ReadFile("clips/" + name)
	if err != nil {
		return nil, fmt.Errorf("clip %s is not in this build: %w", name, err)
	}
	var frames [][]byte
	switch {
	case bytes.HasSuffix([]byte(name), []byte(".ivf")):
		frames, err = readIVF(data)
	case bytes.HasSuffix([]byte(name), []byte(".h264")):
		frames, err = readAnnexB(data)
	default:
		frames, err = readOggOpus(data)
	}
	if err != nil {
		return nil, fmt.Errorf("clip %s: %w", name, err)
	}
	return &clip{frames: frames, duration: time.Second / time.Duration(fps)}, nil
}

// looper sends a clip's frames in a loop, one per NextSample. A picture loss indication from the
// SFU restarts the clip at its first frame (a key frame), as an encoder would send a key frame.
type looper struct {
	clip    *clip
	next    int
	restart atomic.Bool
}

func (l *looper) NextSample(ctx context.Context) (media.Sample, error) {
	if l.restart.Swap(false) {
		l.next = 0
	}
	frame := l.clip.frames[l.next]
	l.next = (l.next + 1) % len(l.clip.frames)
	return media.Sample{Data: frame, Duration: l.clip.duration}, nil
}

func (l *looper) OnBind() error   { return nil }
func (l *looper) OnUnbind() error { return nil }
func (l *looper) Close() error    { return nil }

func (l *looper) onRTCP(p rtcp.Packet) {
	switch p.(type) {
	case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
		l.restart.Store(true)
	}
}
