// The video player: hls.js where Media Source Extensions exist, native HLS (Safari) otherwise.
// Kept near the live edge (low-latency HLS: parts and blocking reloads, PART-HOLD-BACK behind), a
// quality menu from the ladder, and a quiet retry while a live stream has not started yet.
import Hls from '/static/vendor/hls.min.mjs';

// The viewers' hls.js configuration, exported so that bench/media.py measures exactly this.
// Our live playlists are low-latency HLS (docs/protocol.md, "Watching: low-latency HLS"): each 1 s
// segment is also published as it is made, in parts of about 0.2 s (EXT-X-PART), and the server
// holds a playlist request until the part asked for exists (`_HLS_msn` + `_HLS_part`). So hls.js
// learns of every part within a few tens of milliseconds and fetches it at once.
export const HLS_CONFIG = {
  // Our copy of the worker file, so the CSP needs no blob: worker.
  workerPath: '/static/vendor/hls.worker.js',
  // Parts, blocking part requests and the playlist's PART-HOLD-BACK are used only in low-latency
  // mode (hls.js's default; stated so it stays on). With it hls.js aims at PART-HOLD-BACK behind
  // the newest part (three part targets, about 0.66 s); followLiveEdge gets it there. No
  // liveSyncDuration(Count) here: either would override PART-HOLD-BACK.
  // Without parts (the server's live_part_s = 0) see followLiveEdge below.
  lowLatencyMode: true,
  // After a stall hls.js moves back from the live edge by this much (its default is 1 s, five
  // parts: too much for a distance of 0.66 s); up to one target duration in all.
  liveSyncOnStallIncrease: 0.25,
  // hls.js's own catch-up (playing faster when behind its target) waits for more than 1 s of
  // buffer ahead, which a player 0.66 s from the live edge never has: followLiveEdge does it.
  maxLiveSyncPlaybackRate: 1,
  // No back-buffer trimming by hls.js (its default): the browser releases played media itself when
  // its memory limit is reached. hls.js 1.7.4 trims after every segment, and a trim that completes
  // between a part's download and its append marks the segment's earlier parts as not loaded; at the
  // segment's end hls.js then waits for those parts to leave the playlist (three target durations)
  // before loading the next segment: a 2.4 s stall, 5 in 72 minutes of playback as measured
  // (bench/results/llhls-stall-cause.txt).
  backBufferLength: Infinity,
  // A master playlist that fails twice means the broadcast is not there: our own retry (3 s) takes over.
  manifestLoadingMaxRetry: 2,
  // Media playlists: retry 4 times (1, 2, 4, 8 s apart) before giving up, which also rides out the
  // 503 the server answers when a held request's segment does not come within 3 target durations.
  levelLoadingMaxRetry: 4,
  // The captions' subtitle track is loaded but not drawn by the browser: the page draws its active
  // cues itself (captions.js: the newest two lines, a corrected line once), under the CC toggle.
  subtitleDisplay: false,
};

// More than this many target durations behind (a long stall, a tab in the background): jump back to
// the live-sync position instead of catching up slowly (followLiveEdge; hls.js's own
// liveMaxLatencyDurationCount would need a liveSyncDurationCount, which overrides PART-HOLD-BACK).
const MAX_BEHIND_TARGETS = 6;

// Behind the target by more than CATCH_UP_FROM seconds, play at CATCH_UP_RATE (hardly audible in
// speech) while more than MIN_AHEAD seconds are buffered ahead, so catching up cannot cause a stall.
const CATCH_UP_FROM = 0.1;
const CATCH_UP_RATE = 1.15;
const MIN_AHEAD = 0.3;
// At the start, further than this behind the live-sync position: jump instead (followLiveEdge).
const START_NEAR = 0.3;

// Playlists without parts (low-latency HLS turned off on the server) carry no PART-HOLD-BACK, and
// hls.js would then play HOLD-BACK (three target durations, 3 s) behind. There we keep the distance
// the player had before parts existed: two target durations (2 s with 1 s segments), measured p50
// 2.25 s, p95 2.4-2.6 s glass to glass with no stall; 1.5 segments stalled 3-5 times a minute.
const SEGMENT_SYNC_COUNT = 2;

// Starting takes a moment (master and media playlists, an init segment, the first parts), so
// playback begins further behind than the target, and the 1.15x catch-up would need seconds to
// close it: from the first segments of a program that has just begun, about 3 s behind for some
// 20 s. So while the picture plays, until it is first within START_NEAR of hls.js's live-sync
// position, jump there as soon as that position is buffered (a jump into unbuffered media would
// stall); after that, catch up by playing faster (above). Also sets the distance for playlists
// without parts (above). Exported so that bench/media.py measures the page's behaviour, not only
// its configuration.
export function followLiveEdge(hls, video) {
  hls.once(Hls.Events.LEVEL_LOADED, (_event, data) => {
    const details = data.details;
    if (details && details.live && !details.partHoldBack) {
      hls.targetLatency = SEGMENT_SYNC_COUNT * details.targetduration;
    }
  });
  hls.on(Hls.Events.LEVEL_UPDATED, (_event, data) => {
    const details = data.details;
    const target = hls.liveSyncPosition;
    if (!details || !details.live || !Number.isFinite(target) || video.paused) return;
    if (hls.latency > MAX_BEHIND_TARGETS * details.targetduration) video.currentTime = target;
  });
  const catchUp = () => {
    const latency = hls.latency;
    const target = hls.targetLatency;
    const ranges = video.buffered;
    if (!Number.isFinite(latency) || !target || !ranges.length || video.playbackRate === 0) return;
    const ahead = ranges.end(ranges.length - 1) - video.currentTime;
    const rate = latency - target > CATCH_UP_FROM && ahead > MIN_AHEAD ? CATCH_UP_RATE : 1;
    if (video.playbackRate !== rate) video.playbackRate = rate;
  };
  const startJump = () => {
    const target = hls.liveSyncPosition;
    if (!Number.isFinite(target) || video.paused) return;
    const now = video.currentTime;
    if (target - now <= START_NEAR) {
      video.removeEventListener('timeupdate', startJump);
      return;
    }
    const ranges = video.buffered;
    for (let i = 0; i < ranges.length; i++) {
      // the range being played, reaching past the target: the jump lands on buffered media
      if (ranges.start(i) <= now && now <= ranges.end(i) && target < ranges.end(i) - 0.1) {
        video.currentTime = target;
        video.removeEventListener('timeupdate', startJump);
        return;
      }
    }
  };
  video.addEventListener('timeupdate', catchUp);
  video.addEventListener('timeupdate', startJump);
  // The video element outlives this hls.js instance (a retry, another program): its listeners go
  // with the instance.
  hls.once(Hls.Events.DESTROYING, () => {
    video.removeEventListener('timeupdate', catchUp);
    video.removeEventListener('timeupdate', startJump);
  });
}

export class Player {
  /**
   * @param {HTMLVideoElement} video
   * @param {HTMLSelectElement} quality  the quality menu (hidden when there is no choice)
   * @param {(kind: string) => void} onStatus  'loading' | 'playing' | 'waiting' | 'error'
   */
  constructor(video, quality, onStatus, autoLabel) {
    this.video = video;
    this.quality = quality;
    this.onStatus = onStatus;
    this.autoLabel = autoLabel;
    this.hls = null;
    this.url = null;
    this.retryTimer = null;
    this.onHls = null; // called with each new hls.js instance and the Hls class (captions.js)
    quality.addEventListener('change', () => {
      if (this.hls) this.hls.currentLevel = Number(quality.value);
    });
    video.addEventListener('playing', () => this.onStatus('playing'));
  }

  play(url) {
    if (this.url === url) return;
    this.stop();
    this.url = url;
    this.onStatus('loading');
    this._start();
  }

  _start() {
    const { video } = this;
    if (Hls.isSupported()) {
      const hls = new Hls({ ...HLS_CONFIG });
      this.hls = hls;
      if (this.onHls) this.onHls(hls, Hls);
      followLiveEdge(hls, video);
      hls.on(Hls.Events.MANIFEST_PARSED, () => {
        this._fillLevels();
        video.play().catch(() => {});
      });
      // The estimated distance from the live edge and the distance aimed at (PART-HOLD-BACK with
      // low-latency HLS), for people and tests reading the page.
      hls.on(Hls.Events.FRAG_CHANGED, () => {
        if (Number.isFinite(hls.latency) && hls.latency > 0) video.dataset.latency = hls.latency.toFixed(2);
        if (Number.isFinite(hls.targetLatency)) video.dataset.targetLatency = hls.targetLatency.toFixed(2);
      });
      hls.on(Hls.Events.ERROR, (_event, data) => {
        if (!data.fatal) return;
        if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
          hls.recoverMediaError();
          return;
        }
        this.onStatus('waiting');
        this._retryLater();
      });
      hls.loadSource(this.url);
      hls.attachMedia(video);
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      this.quality.hidden = true;
      video.src = this.url;
      video.addEventListener('error', this._nativeError, { once: true });
      video.play().catch(() => {});
    } else {
      this.onStatus('error');
    }
  }

  _nativeError = () => {
    this.onStatus('waiting');
    this._retryLater();
  };

  _retryLater() {
    const url = this.url;
    this._teardown();
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (this.url === url) this._start();
    }, 3000);
  }

  _fillLevels() {
    const { quality } = this;
    while (quality.firstChild) quality.removeChild(quality.firstChild);
    const auto = document.createElement('option');
    auto.value = '-1';
    auto.textContent = this.autoLabel();
    quality.append(auto);
    const levels = this.hls ? this.hls.levels : [];
    levels
      .map((level, index) => ({ index, height: level.height, bitrate: level.bitrate }))
      .sort((a, b) => b.height - a.height || b.bitrate - a.bitrate)
      .forEach(({ index, height, bitrate }) => {
        const option = document.createElement('option');
        option.value = String(index);
        option.textContent = height ? `${height}p` : `${Math.round(bitrate / 1000)} kb/s`;
        quality.append(option);
      });
    quality.hidden = levels.length < 2;
    quality.value = '-1';
  }

  /** The quality menu's "auto" in the page's language again (after a language switch). */
  relabel() {
    const auto = this.quality.querySelector('option[value="-1"]');
    if (auto) auto.textContent = this.autoLabel();
  }

  _teardown() {
    if (this.hls) {
      this.hls.destroy();
      this.hls = null;
    }
    this.video.removeEventListener('error', this._nativeError);
    this.video.removeAttribute('src');
    this.video.load();
  }

  stop() {
    clearTimeout(this.retryTimer);
    this.url = null;
    this._teardown();
    this.quality.hidden = true;
  }
}
