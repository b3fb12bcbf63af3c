// The video player: hls.js where Media Source Extensions exist, native HLS (Safari) otherwise.
// Kept near the live edge (blocking playlist reload, two segments behind), a quality menu from the
// ladder, and a quiet retry while a live stream has not started yet.
import Hls from '/static/vendor/hls.min.mjs';

// The viewers' hls.js configuration, exported so that bench/media.py measures exactly this.
// Our live playlists say CAN-BLOCK-RELOAD=YES: after each update hls.js asks for
// `live.m3u8?_HLS_msn=<next>` and the server answers the moment that segment is written, so a new
// segment is seen within ~0.1 s instead of up to a target duration later (hls.js's polling period).
// Each value below says why; the numbers assume our 1 s segments (TARGETDURATION 1).
export const HLS_CONFIG = {
  // Our copy of the worker file, so the CSP needs no blob: worker.
  workerPath: '/static/vendor/hls.worker.js',
  // hls.js sends the blocking request at once only in low-latency mode; otherwise it first waits
  // for its usual reload interval, which is the lag we are removing. Low-latency mode is also what
  // enables the playback-rate catch-up below. It is hls.js's default; stated so it stays on. (Our
  // playlists have no partial segments, so it changes nothing else.)
  lowLatencyMode: true,
  // Play 2 target durations behind the newest listed segment: 2 s with 1 s segments. A segment
  // arrives every second, so the media buffered ahead of the playhead swings between 1 s (just before
  // the next one is listed and fetched) and 2 s. Glass to glass is then about 2 s + encoding and
  // packaging + decoding: measured p50 2.25 s, p95 2.4-2.6 s, no stall, on a 2-core machine under
  // heavy load. 1.5 (p50 1.8 s) and 1.75 stalled 3-5 times a minute on that machine: each stall
  // costs more than the 0.25-0.5 s they save. A count rather than seconds: with 2 s segments
  // (live_segment_s allows 1-2) it becomes 4 s and keeps the same margin, where a fixed number
  // of seconds would stall before every segment. After a stall, hls.js adds 1 s to the distance by
  // itself (liveSyncOnStallIncrease, up to one more target duration).
  liveSyncDurationCount: 2,
  // More than 6 segments behind (a long stall, a tab in the background): jump back to the sync point
  // instead of catching up slowly.
  liveMaxLatencyDurationCount: 6,
  // Behind the target by less than that, catch up by playing up to 1.2x (hardly audible in speech).
  // hls.js only does it with more than 1 s buffered ahead, so catching up cannot cause a stall.
  maxLiveSyncPlaybackRate: 1.2,
  // Keep 30 s behind the playhead for small rewinds; older media is released from memory.
  backBufferLength: 30,
  // A master playlist that fails twice means the broadcast is not there: our own retry (3 s) takes over.
  manifestLoadingMaxRetry: 2,
  // Media playlists: retry 4 times (1, 2, 4, 8 s apart) before giving up, which also rides out the
  // 503 the server answers when a held request's segment does not come within 3 target durations.
  levelLoadingMaxRetry: 4,
  // The captions' subtitle track is loaded but not drawn by the browser: the page draws its active
  // cues itself (captions.js: the newest two lines, a corrected line once), under the CC toggle.
  subtitleDisplay: false,
};

// Starting takes a moment (master and media playlists, an init segment, the first segments), so
// playback begins about a second further behind than liveSyncDurationCount asks, and the 1.2x
// catch-up would need ~8 s to close it. So once, when the picture first moves, jump to hls.js's
// live-sync position if that is already buffered (a jump into unbuffered media would stall).
// Exported so that bench/media.py measures the page's behaviour, not only its configuration.
export function startAtLiveSync(hls, video) {
  video.addEventListener('playing', () => {
    const target = hls.liveSyncPosition;
    const ranges = video.buffered;
    if (!Number.isFinite(target) || !ranges.length) return;
    const end = ranges.end(ranges.length - 1);
    if (target - video.currentTime > 0.3 && target < end - 0.2) video.currentTime = target;
  }, { once: true });
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
      startAtLiveSync(hls, video);
      hls.on(Hls.Events.MANIFEST_PARSED, () => {
        this._fillLevels();
        video.play().catch(() => {});
      });
      // The estimated distance from the live edge, for people and tests reading the page.
      hls.on(Hls.Events.FRAG_CHANGED, () => {
        if (Number.isFinite(hls.latency) && hls.latency > 0) video.dataset.latency = hls.latency.toFixed(2);
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
