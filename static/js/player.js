// The video player: hls.js where Media Source Extensions exist, native HLS (Safari) otherwise.
// Kept near the live edge (1 s segments, two segments behind), a quality menu from the ladder,
// and a quiet retry while a live stream has not started yet.
import Hls from '/static/vendor/hls.min.mjs';

const HLS_CONFIG = {
  workerPath: '/static/vendor/hls.worker.js',
  liveSyncDurationCount: 2,
  liveMaxLatencyDurationCount: 6,
  maxLiveSyncPlaybackRate: 1.2,
  backBufferLength: 30,
  manifestLoadingMaxRetry: 2,
  levelLoadingMaxRetry: 4,
};

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
      const hls = new Hls(HLS_CONFIG);
      this.hls = hls;
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
