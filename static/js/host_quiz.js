// The host's live quiz (today's event, 오늘의 이벤트): open a question with its choices, the
// right answer and a window in seconds for the program on the console; the countdown runs on the
// server's time (`server_now`); once the window has closed, reveal the answer and the counts.
// Viewers answer on the watch page (event.js); the server credits the right answers.
import { get, post } from './api.js';
import { $, clear, h, say } from './dom.js';
import './event_text.js';
import * as i18n from './i18n.js';
import { errText } from './i18n.js';

const t = i18n.t;

export class QuizConsole {
  /** @param {HTMLElement} root the section holding #quiz-form, #quiz-card, #quiz-reveal, #quiz-status */
  constructor(root) {
    this.root = root;
    this.programId = null;
    this.quiz = null;
    this.offset = 0; // server time minus this browser's time
    this.timer = null;
    $('#quiz-form', root).addEventListener('submit', (event) => this.open(event));
    $('#quiz-reveal', root).addEventListener('click', () => this.reveal());
  }

  /** The console switched to this program: show its current quiz, if any. */
  async follow(programId) {
    this.programId = programId;
    this.set(null);
    say($('#quiz-status', this.root), '');
    if (!programId) return;
    try {
      const data = await get(`/api/events/programs/${encodeURIComponent(programId)}`);
      if (this.programId === programId) this.set(data.quiz);
    } catch (err) {
      say($('#quiz-status', this.root), errText(err), 'error');
    }
  }

  /** The room's `quiz` event: opened or revealed (by this host or another). */
  onEvent(quiz) {
    if (!quiz || quiz.program !== this.programId) return;
    // The room's event leaves out the right answer before the reveal; the open call told us.
    const answer = this.quiz && this.quiz.id === quiz.id ? this.quiz.answer : undefined;
    this.set({ ...quiz, answer });
  }

  set(quiz) {
    this.quiz = quiz || null;
    if (this.quiz) this.offset = new Date(this.quiz.server_now).getTime() - Date.now();
    this.render();
  }

  async open(event) {
    event.preventDefault();
    const status = $('#quiz-status', this.root);
    const question = $('#quiz-question', this.root).value.trim();
    const choices = $('#quiz-choices', this.root).value.split('\n').map((c) => c.trim()).filter(Boolean);
    const answer = Number($('#quiz-answer', this.root).value) - 1;
    const windowS = Number($('#quiz-window', this.root).value);
    if (!this.programId || !question || choices.length < 2) {
      say(status, t('evh.needChoices'), 'error');
      return;
    }
    try {
      const data = await post('/api/events/quizzes', {
        program: this.programId, question, choices, answer, window_s: windowS,
      });
      $('#quiz-question', this.root).value = '';
      $('#quiz-choices', this.root).value = '';
      say(status, '');
      this.set(data.quiz);
    } catch (err) {
      say(status, errText(err), 'error');
    }
  }

  async reveal() {
    if (!this.quiz) return;
    try {
      const data = await post(`/api/events/quizzes/${encodeURIComponent(this.quiz.id)}/reveal`);
      say($('#quiz-status', this.root), '');
      this.set(data.quiz);
    } catch (err) {
      say($('#quiz-status', this.root), errText(err), 'error');
    }
  }

  render() {
    clearInterval(this.timer);
    const card = clear($('#quiz-card', this.root));
    const reveal = $('#quiz-reveal', this.root);
    const quiz = this.quiz;
    card.hidden = !quiz;
    reveal.hidden = !quiz || quiz.state === 'revealed';
    if (!quiz) return;
    card.dataset.state = quiz.state;
    card.append(h('p', { class: 'q' }, quiz.question));
    const list = h('ol', { class: 'choices' });
    quiz.choices.forEach((text, index) => {
      const right = index === (quiz.correct ?? quiz.answer);
      const count = quiz.counts ? ` · ${t('evh.count', { n: i18n.fmtNumber(quiz.counts[index]) })}` : '';
      list.append(h('li', { class: right ? 'right' : '', dataset: { choice: String(index) } },
        `${right ? '✔ ' : ''}${text}${count}`));
    });
    const left = h('p', { class: 'small', id: 'quiz-left' });
    card.append(list, left);
    if (quiz.state === 'revealed') {
      left.textContent = t('evh.result', {
        right: i18n.fmtNumber(quiz.counts ? quiz.counts[quiz.correct] : 0),
        all: i18n.fmtNumber((quiz.counts || []).reduce((a, b) => a + b, 0)),
      });
      return;
    }
    const tick = () => {
      const ms = new Date(quiz.closes_at).getTime() - (Date.now() + this.offset);
      if (ms <= 0) {
        clearInterval(this.timer);
        quiz.state = 'closed';
        card.dataset.state = 'closed';
        left.textContent = t('evh.closed');
        return;
      }
      left.textContent = t('ev.quizLeft', { n: Math.ceil(ms / 1000) });
    };
    tick();
    if (quiz.state === 'open') this.timer = setInterval(tick, 250);
  }
}
