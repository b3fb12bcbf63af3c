// The embeddable player (/embed/{id}, for an iframe on the expo portal): the program's video, and
// with ?chat=1 its chat (read and write; the nickname is the server's default for the viewer).
// Captions are drawn over the video from the HLS subtitle track, with the CC toggle and the
// language (captions.js); with ?transcript=1 the transcript (대본) is beside the player too,
// searchable, each line jumping to its moment in a replay.
// Live, lobby and scheduled programs play the live stream (the player retries quietly until it
// starts); a program with a replay plays the replay.
import { get } from './api.js';
import { CaptionView } from './captions.js';
import { ChatView, NOTICED, noticeText } from './chat.js';
import { $, say, show } from './dom.js';
import * as i18n from './i18n.js';
import { errText } from './i18n.js';
import { Player } from './player.js';
import { title } from './programs.js';
import { openRoom } from './room.js';
import { connect } from './socket.js';

const programId = decodeURIComponent(location.pathname.split('/')[2] || '');
const query = new URLSearchParams(location.search);
const withChat = query.get('chat') === '1';
const withTranscript = query.get('transcript') === '1';

function overlay(text) {
  $('#overlay-text').textContent = text || '';
  show($('#overlay'), Boolean(text));
}

function play(player, program, captions) {
  const mode = program.state === 'replay' ? 'replay' : program.state === 'ended' ? 'none' : 'live';
  if (captions.programId !== program.id || captions.mode !== mode) captions.show(program, mode, false);
  if (program.state === 'replay') {
    player.play(`/vod/${encodeURIComponent(program.id)}/master.m3u8`);
  } else if (program.state === 'ended') {
    player.stop();
    overlay(i18n.t('watch.ended'));
  } else {
    player.play(`/hls/${encodeURIComponent(program.id)}/master.m3u8`);
  }
}

function openChat(program, player, captions) {
  const panel = $('#chat-panel');
  panel.hidden = false;
  document.body.classList.add('with-chat');
  const view = new ChatView($('#messages'));
  const status = $('#chat-status');
  const room = openRoom(connect(), `program:${program.id}`, {
    program: (changed) => play(player, changed, captions),
    notice: (notice) => { if (NOTICED.has(notice.code)) say(status, noticeText(notice), 'error'); },
    error: (err) => say(status, errText(err), 'error'),
  }, view);
  $('#chat-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const input = $('#chat-text');
    const text = input.value.trim();
    if (!text) return;
    try {
      await room.ask('chat', { text });
      input.value = '';
      show(status, false);
    } catch (err) {
      say(status, errText(err), 'error');
    }
  });
}

async function main() {
  i18n.init();
  const player = new Player($('#video'), $('#quality'), (kind) => {
    if (kind === 'playing') overlay('');
    else if (kind === 'waiting') overlay(i18n.t('watch.noVideo'));
  }, () => i18n.t('watch.auto'));
  // CaptionView fills a transcript when the page has one: only when asked for.
  if (withTranscript) {
    $('#transcript-panel').hidden = false;
    document.body.classList.add('with-chat');
  } else {
    $('#transcript-panel').remove();
  }
  const captions = new CaptionView($('#video'));
  player.onHls = (hls, Hls) => captions.attachHls(hls, Hls);
  let program;
  try {
    program = await get(`/api/programs/${encodeURIComponent(programId)}`);
  } catch (err) {
    overlay(err.status === 404 ? i18n.t('watch.notFound') : errText(err));
    return;
  }
  document.title = `${title(program)} · 혁신TV`;
  $('#title').textContent = title(program);
  play(player, program, captions);
  if (withChat) openChat(program, player, captions);
}

main();
