// Korean first, English second. Static text in the pages carries data-i18n keys (Korean is
// already in the HTML, so the page reads right before any script runs); the English toggle is
// remembered in localStorage. Dynamic text asks t(key). A text that counts something has one
// form per plural category of the language (Intl.PluralRules: English "one"/"other", Korean
// "other" only) and is picked by `vars.n`; numbers in the text are written the reader's way.

import { fmtDay, fmtTime } from './dom.js';

const STORAGE_KEY = 'innotv.lang';
const LOCALES = { ko: 'ko-KR', en: 'en-US' };
const PLURALS = { ko: new Intl.PluralRules(LOCALES.ko), en: new Intl.PluralRules(LOCALES.en) };
const NUMBERS = { ko: new Intl.NumberFormat(LOCALES.ko), en: new Intl.NumberFormat(LOCALES.en) };

// key: [Korean, English]
const DICT = {
  'brand': ['혁신TV', 'Innovation TV'],
  'nav.watch': ['방송', 'Watch'],
  'nav.halls': ['전시관', 'Halls'],
  'nav.host': ['진행자', 'Host'],
  'nav.produce': ['제작', 'Produce'],
  'lang.toggle': ['English', '한국어'],
  'lang.toggle.label': ['Switch to English', '한국어로 보기'],
  'skip': ['본문으로 건너뛰기', 'Skip to content'],

  'state.scheduled': ['예정', 'Scheduled'],
  'state.lobby': ['곧 시작', 'Starting soon'],
  'state.live': ['생방송', 'LIVE'],
  'state.ended': ['종료', 'Ended'],
  'state.replay': ['다시보기', 'Replay'],
  'kind.live': ['생방송', 'Live'],
  'kind.premiere': ['최초 공개', 'Premiere'],

  'login.title': ['로그인', 'Log in'],
  'login.username': ['아이디', 'Username'],
  'login.password': ['비밀번호', 'Password'],
  'login.submit': ['로그인', 'Log in'],
  'login.logout': ['로그아웃', 'Log out'],
  'login.as': ['{name} ({role})로 로그인됨', 'Logged in as {name} ({role})'],
  'login.needRole': ['이 화면은 {role} 계정이 필요합니다.', 'This page needs a {role} account.'],
  'role.host': ['진행자', 'host'],
  'role.producer': ['제작자', 'producer'],
  'role.captioner': ['자막 속기사', 'captioner'],
  'nav.caption': ['자막', 'Captions'],

  'cc.toggle': ['자막', 'CC'],
  'cc.on': ['자막 켜짐', 'Captions on'],
  'cc.off': ['자막 꺼짐', 'Captions off'],
  'cc.lang': ['자막 언어', 'Caption language'],
  'transcript.tab': ['대본', 'Transcript'],
  'transcript.search': ['대본 검색', 'Search the transcript'],
  'transcript.empty': ['아직 자막이 없습니다.', 'No captions yet.'],
  'transcript.none': ['찾는 말이 없습니다.', 'Nothing matches.'],
  'transcript.jump': ['{time} 장면으로 이동: {text}', 'Go to {time}: {text}'],
  'transcript.download': ['자막 파일 받기', 'Download captions'],
  'transcript.edit': ['고치기', 'Correct'],
  'transcript.save': ['저장', 'Save'],
  'transcript.saved': ['고쳤습니다. 다시보기 자막에 곧 반영됩니다.', 'Corrected; the replay\'s captions follow shortly.'],

  'caption.title': ['자막 콘솔', 'Captioning console'],
  'caption.pick': ['방송 선택', 'Program'],
  'caption.lang': ['언어', 'Language'],
  'caption.input': ['자막 입력 (Enter로 보내기)', 'Caption (Enter sends)'],
  'caption.hint': ['Enter, 잠시 멈춤, 또는 줄 길이에서 한 줄씩 나갑니다. 마지막 줄은 고칠 수 있습니다.', 'A line goes out on Enter, after a short pause, or at the line length. The last line can be corrected.'],
  'caption.turnFree': ['지금 자막 차례: 없음', 'Turn: nobody'],
  'caption.turnMine': ['지금 자막 차례: 나 ({name})', 'Turn: you ({name})'],
  'caption.turnOther': ['지금 자막 차례: {name}', 'Turn: {name}'],
  'caption.take': ['내 차례로', 'Take the turn'],
  'caption.release': ['차례 넘기기', 'Give up the turn'],
  'caption.fix': ['마지막 줄 고치기', 'Correct the last line'],
  'caption.fixSave': ['고친 줄 보내기', 'Send the correction'],
  'caption.sent': ['보냄', 'sent'],
  'caption.offAir': ['방송 중(곧 시작/생방송)일 때만 자막을 보낼 수 있습니다.', 'Captions are sent while the program is starting or live.'],

  'setup.title': ['첫 제작자 계정 만들기', 'Create the first producer account'],
  'setup.intro': [
    '서버가 처음 시작될 때 출력한 일회용 링크로 들어왔습니다. 제작자 계정을 만들면 이 링크는 더 이상 쓸 수 없습니다.',
    'You opened the one-time link the server printed on its first start. Once the producer account exists, the link stops working.',
  ],
  'setup.username.hint': ['영문 소문자·숫자·. _ - 로 2~32자', '2-32 characters: lowercase letters, digits, . _ -'],
  'setup.password.hint': ['10자 이상', 'At least 10 characters'],
  'setup.password2': ['비밀번호 확인', 'Confirm password'],
  'setup.submit': ['계정 만들기', 'Create account'],
  'setup.noToken': [
    '설정 링크에 토큰이 없습니다. 서버가 출력한 링크 전체를 주소창에 붙여 넣으세요.',
    'The setup link has no token. Paste the whole link the server printed.',
  ],
  'setup.mismatch': ['두 비밀번호가 다릅니다.', 'The two passwords differ.'],
  'setup.tooShort': ['비밀번호는 10자 이상이어야 합니다.', 'The password must be at least 10 characters.'],
  'setup.badUsername': [
    '아이디는 영문 소문자, 숫자, . _ - 로 2~32자입니다.',
    'A username is 2-32 characters: lowercase letters, digits, . _ -',
  ],
  'setup.done': ['계정을 만들고 로그인했습니다. 제작 화면으로 이동합니다…', 'Account created and logged in. Opening the producer desk…'],
  'setup.goProduce': ['제작 화면 열기', 'Open the producer desk'],

  'watch.now': ['지금 방송', 'On air'],
  'watch.next': ['다음 방송', 'Up next'],
  'watch.startsIn': ['시작까지', 'Starts in'],
  'watch.nothing': ['예정된 방송이 없습니다.', 'No broadcast is scheduled.'],
  'watch.lobby': ['곧 시작합니다. 채팅으로 먼저 인사해 주세요!', 'Starting soon. Say hello in the chat!'],
  'watch.ended': ['방송이 끝났습니다. 다시보기를 준비하고 있습니다.', 'The broadcast has ended. The replay is being prepared.'],
  'watch.neverAired': ['방송이 끝났습니다. 이 방송은 송출되지 않아 다시보기가 없습니다.', 'This program has ended. It never aired, so there is no replay.'],
  'watch.noReplay': ['방송이 끝났습니다. 다시보기를 볼 수 없습니다.', 'This program has ended. Its replay is not available.'],
  'watch.loading': ['영상을 불러오는 중…', 'Loading video…'],
  'watch.noVideo': ['영상을 아직 받을 수 없습니다. 잠시 후 다시 시도합니다.', 'The video is not available yet. Retrying shortly.'],
  'watch.unmute': ['소리 켜기', 'Unmute'],
  'watch.quality': ['화질', 'Quality'],
  'watch.auto': ['자동', 'Auto'],
  'watch.viewers': ['시청자 {n}명', '{n} watching'],
  'watch.share': ['공유', 'Share'],
  'watch.addCalendar': ['캘린더에 추가', 'Add to calendar'],
  'watch.copied': ['링크를 복사했습니다.', 'Link copied.'],
  'watch.copyThis': ['이 링크를 복사하세요: {url}', 'Copy this link: {url}'],
  'watch.past': ['지난 방송 {n}개', { one: '{n} past broadcast', other: '{n} past broadcasts' }],
  'watch.lineup': ['10일간의 편성표', 'The ten-day lineup'],
  'watch.replays': ['다시보기', 'Replays'],
  'watch.noReplays': ['아직 다시보기가 없습니다.', 'No replays yet.'],
  'watch.open': ['보기', 'Watch'],
  'watch.notFound': ['방송을 찾을 수 없습니다.', 'Broadcast not found.'],
  'watch.calendar': ['전체 편성표를 캘린더에 (.ics)', 'The whole lineup in your calendar (.ics)'],

  'chat.tab': ['채팅', 'Chat'],
  'qa.tab': ['질문', 'Q&A'],
  'chat.nickname': ['닉네임', 'Nickname'],
  'chat.setNick': ['변경', 'Set'],
  'chat.message': ['메시지', 'Message'],
  'chat.placeholder': ['메시지를 입력하세요', 'Write a message'],
  'chat.send': ['보내기', 'Send'],
  'chat.pinned': ['고정 메시지', 'Pinned'],
  'chat.slow': ['슬로우 모드: {n}초에 한 번', 'Slow mode: one message every {n} s'],
  'chat.readonly': ['채팅이 닫혔습니다 (읽기 전용).', 'The chat is closed (read-only).'],
  'chat.opensLater': ['채팅은 방송 시작 전 대기 시간부터 열립니다.', 'The chat opens shortly before the broadcast starts.'],
  'chat.connecting': ['채팅 연결 중…', 'Connecting to chat…'],
  'chat.disconnected': ['연결이 끊겼습니다. 다시 연결하는 중…', 'Disconnected. Reconnecting…'],
  'chat.nickSaved': ['닉네임을 {name}(으)로 바꿨습니다.', 'Nickname set to {name}.'],
  'chat.anon': ['익명', 'Anonymous'],
  'chat.replay': ['방송 중에 오간 채팅입니다 (읽기 전용).', 'The chat from the broadcast (read-only).'],
  'chat.changeNick': ['닉네임 바꾸기', 'Change nickname'],
  'chat.nickTitle': ['채팅에서 쓸 닉네임', 'Your nickname in the chat'],
  'chat.nickHint': ['다른 시청자에게 보이는 이름입니다. 진행자나 제작진처럼 보이는 이름은 쓸 수 없습니다.', 'Other viewers see this name. Names that look like the hosts\' or the studio\'s are not allowed.'],
  'chat.nickKeep': ['이대로 쓰기', 'Keep this one'],
  'chat.nickSave': ['저장', 'Save'],
  'badge.host': ['진행자', 'Host'],
  'badge.producer': ['제작진', 'Studio'],
  'chat.until': ['{time}까지', 'until {time}'],
  'hearts.send': ['하트 보내기', 'Send a heart'],
  'hearts.total': ['하트 {n}개', { one: '{n} heart', other: '{n} hearts' }],
  'qa.ask': ['질문하기', 'Ask'],
  'qa.placeholder': ['진행자에게 질문하세요', 'Ask the studio a question'],
  'qa.upvote': ['공감', 'Upvote'],
  'qa.answered': ['답변 완료', 'Answered'],
  'qa.empty': ['아직 질문이 없습니다.', 'No questions yet.'],
  'poll.title': ['투표', 'Vote'],
  'poll.vote': ['투표하기', 'Vote'],
  'poll.voted': ['투표했습니다. 결과 발표를 기다려 주세요.', 'Vote cast. Wait for the result.'],
  'poll.closed': ['투표가 마감되었습니다.', 'Voting has closed.'],
  'poll.result': ['투표 결과', 'Result'],
  'poll.votes': ['{n}표', { one: '{n} vote', other: '{n} votes' }],

  'halls.title': ['전시관', 'Exhibition halls'],
  'halls.intro': ['마음에 드는 전시관에 하트를 눌러 주세요. 하트 순으로 보여 줍니다.', 'Press the heart for the halls you like. Ranked by hearts.'],
  'halls.back': ['전시관 목록', 'All halls'],
  'halls.comments': ['댓글', 'Comments'],
  'halls.comment': ['댓글', 'Comment'],
  'halls.commentPlaceholder': ['댓글을 남겨 주세요', 'Leave a comment'],
  'halls.post': ['등록', 'Post'],
  'halls.cases': ['사례 {n}건', { one: '{n} case', other: '{n} cases' }],
  'halls.heartedToday': ['오늘은 이 전시관에 이미 하트를 보냈습니다. 내일 다시 보낼 수 있어요.', 'You have given this hall your heart today; you can again tomorrow.'],
  'halls.heartCounted': ['하트를 보냈습니다 (전시관마다 하루 한 번).', 'Heart given (one per hall a day).'],
  'halls.none': ['전시관 정보를 불러올 수 없습니다.', 'The halls could not be loaded.'],
  'halls.noComments': ['첫 댓글을 남겨 주세요.', 'Be the first to comment.'],

  'host.title': ['진행자 콘솔', 'Host console'],
  'host.pick': ['방송 선택', 'Pick a program'],
  'host.camera': ['카메라로 방송', 'Go live from the camera'],
  'host.streamKey': ['스트림 키', 'Stream key'],
  'host.streamKeyHint': ['제작자가 발급한 스트림 키를 붙여 넣으세요.', 'Paste the stream key a producer issued.'],
  'host.issueKey': ['새 키 발급 (제작자)', 'Issue a new key (producer)'],
  'host.startCamera': ['카메라 켜기', 'Start camera'],
  'host.goLive': ['송출 시작', 'Start publishing'],
  'host.stop': ['송출 중지', 'Stop publishing'],
  'host.publishing': ['송출 중', 'Publishing'],
  'host.stopped': ['송출이 멈췄습니다.', 'Publishing stopped.'],
  'host.obs': ['OBS 설정', 'OBS settings'],
  'host.obsService': ['서비스', 'Service'],
  'host.obsServer': ['서버', 'Server'],
  'host.obsToken': ['Bearer 토큰', 'Bearer token'],
  'host.obsKeyframe': ['키프레임 간격', 'Keyframe interval'],
  'host.obsKeyframeValue': ['{n}초 (세그먼트 길이와 같게)', '{n} s (the segment length)'],
  'host.preview': ['미리보기 (WHEP)', 'Preview (WHEP)'],
  'host.startPreview': ['미리보기 시작', 'Start preview'],
  'host.moderation': ['채팅 관리', 'Moderation'],
  'host.delete': ['삭제', 'Delete'],
  'host.timeout': ['시간 제한', 'Time out'],
  'host.timeoutLength': ['제한 시간', 'Time-out length'],
  'host.m1': ['1분', '1 min'],
  'host.m5': ['5분', '5 min'],
  'host.m10': ['10분', '10 min'],
  'host.h1': ['1시간', '1 hour'],
  'host.h24': ['24시간', '24 hours'],
  'host.s5': ['5초', '5 s'],
  'host.s10': ['10초', '10 s'],
  'host.s30': ['30초', '30 s'],
  'host.s60': ['60초', '60 s'],
  'host.hide': ['숨기기', 'Hide'],
  'host.chatAs': ['진행자로 채팅', 'Chat as the host'],
  'host.chatPlaceholder': ['진행자 배지를 달고 채팅하기', 'Chat with the host badge'],
  'host.cameraLabel': ['카메라', 'Camera'],
  'host.previewLabel': ['미리보기', 'Preview'],
  'host.ban': ['차단', 'Ban'],
  'host.pin': ['고정', 'Pin'],
  'host.unpin': ['고정 해제', 'Unpin'],
  'host.unban': ['해제', 'Lift'],
  'host.actions': ['최근 조치', 'Recent actions'],
  'host.action.delete': ['메시지 삭제', 'deleted a message'],
  'host.action.timeout': ['시간 제한', 'timed out'],
  'host.action.hide_question': ['질문 숨김', 'hid a question'],
  'host.action.ban': ['차단', 'banned'],
  'host.action.unban': ['차단 해제', 'lifted a ban'],
  'host.action.slow': ['슬로우 모드 변경', 'changed slow mode'],
  'host.action.pin': ['메시지 고정', 'pinned a message'],
  'host.action.unpin': ['고정 해제', 'unpinned'],
  'host.action.words': ['금칙어 변경', 'changed blocked words'],
  'host.slow': ['슬로우 모드', 'Slow mode'],
  'host.slowOff': ['끄기', 'Off'],
  'host.blocked': ['금칙어 (쉼표로 구분)', 'Blocked words (comma separated)'],
  'host.save': ['저장', 'Save'],
  'host.wordsSaved': ['금칙어 {n}개를 저장했습니다.', { one: 'Saved {n} blocked word.', other: 'Saved {n} blocked words.' }],
  'host.queue': ['질문 목록', 'Question queue'],
  'host.answer': ['답변 완료', 'Mark answered'],
  'host.polls': ['투표 진행', 'Polls'],
  'host.pollQuestion': ['질문', 'Question'],
  'host.pollChoices': ['보기 (한 줄에 하나)', 'Choices (one per line)'],
  'host.pollOpen': ['투표 열기', 'Open poll'],
  'host.pollClose': ['마감', 'Close'],
  'host.pollReveal': ['결과 공개', 'Reveal'],
  'host.noPrograms': ['진행할 방송이 없습니다.', 'No programs to host.'],
  'host.noMic': ['마이크 없이 송출합니다 (무음).', 'Publishing without a microphone (silent).'],
  'host.noCamera': ['카메라가 있어야 방송할 수 있습니다.', 'A camera is needed to go live.'],
  'host.startNow': ['지금 방송 시작', 'Start the program now'],
  'host.endNow': ['방송 종료', 'End the program'],
  'host.started': ['방송이 시작되었습니다.', 'The program is on the air.'],
  'host.ended': ['방송을 종료했습니다. 다시보기를 만듭니다.', 'The program has ended; its replay is being made.'],
  'host.stopAsk': ['송출을 멈춥니다. 방송은 어떻게 할까요?', 'Stop publishing. What about the program?'],
  'host.stopEnd': ['방송 종료 (다시보기 만들기)', 'End the program (make the replay)'],
  'host.stopBreak': ['잠시 쉬기 (대기 화면)', 'Take a break (slate)'],
  'host.onBreak': ['쉬는 중: 시청자에게는 대기 화면이 나갑니다. 다시 송출하면 돌아옵니다.', 'On a break: viewers see the slate until you go live again.'],

  'onair.label': ['방송 중 정보', 'On air'],
  'onair.elapsed': ['경과', 'Elapsed'],
  'onair.remaining': ['남은 시간', 'Remaining'],
  'onair.viewers': ['시청자', 'Viewers'],
  'onair.hearts': ['하트', 'Hearts'],
  'onair.startsIn': ['시작까지 {time}', 'starts in {time}'],
  'onair.over': ['종료', 'over'],

  'health.title': ['방송 상태', 'Stream health'],
  'health.source': ['입력', 'Source'],
  'health.source.publisher': ['송출자 (WHIP)', 'Publisher (WHIP)'],
  'health.source.demo': ['데모 영상', 'Demo source'],
  'health.source.none': ['없음', 'None'],
  'health.mode': ['출력', 'Output'],
  'health.mode.idle': ['대기', 'idle'],
  'health.mode.live': ['방송 중', 'live'],
  'health.mode.slate': ['안내 화면 (입력 끊김)', 'slate (no input)'],
  'health.mode.stopped': ['중지', 'stopped'],
  'health.connection': ['송출자 연결', 'Publisher connection'],
  'health.conn.new': ['시작 중', 'new'],
  'health.conn.connecting': ['연결 중', 'connecting'],
  'health.conn.connected': ['연결됨', 'connected'],
  'health.conn.disconnected': ['끊김', 'disconnected'],
  'health.conn.failed': ['실패', 'failed'],
  'health.conn.closed': ['닫힘', 'closed'],
  'health.resolution': ['해상도', 'Resolution'],
  'health.fps': ['프레임 수', 'Frame rate'],
  'health.fpsValue': ['초당 {n}프레임', '{n} fps'],
  'health.bitrate': ['비트레이트', 'Bitrate'],
  'health.kbps': ['{n} kbit/s', '{n} kbit/s'],
  'health.dropped': ['버린 프레임', 'Dropped frames'],
  'health.errors': ['오류 프레임', 'Frames with errors'],
  'health.frames': ['{n}개', { one: '{n} frame', other: '{n} frames' }],
  'health.level.ok': ['좋음', 'Good'],
  'health.level.warn': ['주의', 'Check'],
  'health.level.bad': ['문제', 'Problem'],
  'health.level.idle': ['입력 없음', 'No input'],

  'produce.title': ['제작 데스크', 'Producer desk'],
  'produce.lineup': ['편성표', 'Lineup'],
  'produce.new': ['새 방송', 'New program'],
  'produce.edit': ['방송 수정', 'Edit program'],
  'produce.f.title': ['제목 (한국어)', 'Title (Korean)'],
  'produce.f.titleEn': ['제목 (영어, 선택)', 'Title (English, optional)'],
  'produce.f.description': ['설명', 'Description'],
  'produce.f.kind': ['종류', 'Kind'],
  'produce.f.start': ['시작 (서울 시각)', 'Start (Seoul time)'],
  'produce.f.end': ['종료 (서울 시각)', 'End (Seoul time)'],
  'produce.f.hosts': ['진행자 아이디 (쉼표로 구분)', 'Host usernames (comma separated)'],
  'produce.save': ['저장', 'Save'],
  'produce.cancel': ['취소', 'Cancel'],
  'produce.delete': ['삭제', 'Delete'],
  'produce.confirmDelete': ['정말 삭제', 'Really delete'],
  'produce.editBtn': ['수정', 'Edit'],
  'produce.key': ['스트림 키 발급', 'Issue stream key'],
  'produce.captionKey': ['자막 키 (문자통역 업체)', 'Caption key (captioning service)'],
  'produce.captionKeyIssue': ['자막 수신 주소 발급', 'Issue the caption ingestion URL'],
  'produce.captionKeyShown': ['자막 업체에 줄 주소 (지금 한 번만 보입니다):', 'The URL for the captioning service (shown only now):'],
  'produce.captionUrl': ['자막 주소 (선택)', 'Caption URL (optional)'],
  'produce.keyShown': ['스트림 키 (지금 한 번만 보입니다):', 'Stream key (shown only now):'],
  'produce.media': ['최초 공개 영상 업로드', 'Upload premiere media'],
  'produce.upload': ['업로드', 'Upload'],
  'produce.media.none': ['아직 올린 파일이 없습니다.', 'No file uploaded yet.'],
  'produce.media.transcoding': ['변환 중…', 'Transcoding…'],
  'produce.media.ready': ['준비 완료: 시작 시각에 공개됩니다.', 'Ready: it plays at the start time.'],
  'produce.media.failed': ['변환 실패', 'Transcoding failed'],
  'err.not_a_premiere': ['최초 공개 방송만 파일을 올릴 수 있습니다.', 'Only a premiere takes a media file.'],
  'err.premiere_started': ['이미 시작된 최초 공개 방송의 파일은 바꿀 수 없습니다.', 'The premiere has started; its file can no longer change.'],
  'err.transcoding': ['이전 파일을 아직 변환하고 있습니다.', 'A file is still being prepared.'],
  'err.empty_upload': ['빈 파일입니다.', 'The file is empty.'],
  'err.program_over': ['끝난 방송에는 송출할 수 없습니다.', 'This program has ended.'],
  'produce.uploaded': ['업로드했습니다.', 'Uploaded.'],
  'produce.simulcast': ['동시 송출 (RTMP)', 'Simulcast (RTMP)'],
  'produce.simulcastUrl': ['RTMP 주소 (rtmp://…/키)', 'RTMP URL (rtmp://…/key)'],
  'produce.add': ['추가', 'Add'],
  'simulcast.idle': ['대기', 'idle'],
  'simulcast.connecting': ['연결 중', 'connecting'],
  'simulcast.connected': ['송출 중', 'pushing'],
  'simulcast.retrying': ['재시도 중', 'retrying'],
  'err.invalid_url': ['rtmp:// 또는 rtmps:// 주소를 입력하세요.', 'Enter an rtmp:// or rtmps:// URL.'],
  'err.too_many_destinations': ['동시 송출 대상이 너무 많습니다.', 'Too many destinations.'],
  'err.duplicate_destination': ['이미 추가된 주소입니다.', 'This destination is already there.'],
  'produce.remove': ['제거', 'Remove'],
  'produce.stateNow': ['현재 상태', 'Now'],
  'produce.replay': ['다시보기', 'Replay'],
  'produce.replay.pending': ['다시보기를 만드는 중입니다.', 'The replay is being made.'],
  'produce.replay.ready': ['공개 중', 'Shown to viewers'],
  'produce.replay.hidden': ['숨김 (시청자에게 보이지 않음)', 'Hidden from viewers'],
  'produce.replay.none': ['송출되지 않아 다시보기가 없습니다.', 'It never aired: no replay.'],
  'produce.replay.deleted': ['다시보기를 삭제했습니다.', 'The replay was deleted.'],
  'produce.replayLength': ['{s}초 (녹화 {all}초 중)', '{s} s (of {all} s recorded)'],
  'produce.replayIn': ['시작 (초)', 'In (s)'],
  'produce.replayOut': ['끝 (초)', 'Out (s)'],
  'produce.replayCut': ['자르기 저장', 'Save the cut'],
  'produce.thumbAt': ['썸네일 시각 (초)', 'Thumbnail at (s)'],
  'produce.thumbPick': ['썸네일 지정', 'Set thumbnail'],
  'produce.thumbnail': ['썸네일', 'thumbnail'],
  'produce.replayHide': ['숨기기', 'Hide'],
  'produce.replayShow': ['다시 공개', 'Show again'],
  'produce.replayDelete': ['다시보기 삭제', 'Delete the replay'],
  'produce.stats': ['실시간 지표', 'Live numbers'],
  'produce.viewers': ['시청자', 'Viewers'],
  'produce.chatRate': ['채팅/분', 'Chat/min'],
  'produce.heartRate': ['하트/분', 'Hearts/min'],
  'produce.export': ['편성표 내보내기 (JSON)', 'Export lineup (JSON)'],
  'produce.import': ['편성표 가져오기 (JSON)', 'Import lineup (JSON)'],
  'produce.imported': ['{n}개 방송을 가져왔습니다.', { one: 'Imported {n} program.', other: 'Imported {n} programs.' }],
  'produce.col.actions': ['작업', 'Actions'],
  'produce.reportLink': ['리포트 보기 · CSV 내보내기', 'Report · CSV export'],
  'produce.n.viewers': ['지금 시청자', 'Viewers now'],
  'produce.n.peak': ['최다 동시 시청자', 'Peak viewers'],
  'produce.n.unique': ['순 시청자', 'Unique viewers'],
  'produce.n.watch': ['총 시청 시간 (분)', 'Watch time (minutes)'],
  'produce.n.chat': ['채팅 (이번 분)', 'Chat this minute'],
  'produce.n.hearts': ['하트 (이번 분)', 'Hearts this minute'],
  'produce.preview': ['미리보기', 'Preview'],
  'produce.previewStop': ['미리보기 끄기', 'Stop preview'],
  'produce.previewWhep': ['송출자의 화면을 지연 없이 보여 줍니다 (WHEP).', 'The publisher\'s picture without delay (WHEP).'],
  'produce.previewHls': ['송출자가 없어 시청자와 같은 화면을 보여 줍니다 (HLS).', 'Nobody publishes: this is what viewers get (HLS).'],
  'produce.mediaFile': ['영상 파일', 'Media file'],

  'accounts.title': ['계정 관리', 'Accounts'],
  'accounts.intro': ['역할을 바꾸거나 비밀번호를 재설정하거나 계정을 지우면 그 사람은 곧바로 로그아웃됩니다.', 'Changing a role, resetting a password or removing an account logs that person out at once.'],
  'accounts.username': ['아이디', 'Username'],
  'accounts.role': ['역할', 'Role'],
  'accounts.roleOf': ['{name}의 역할', 'Role of {name}'],
  'accounts.add': ['계정 추가', 'Add an account'],
  'accounts.addBtn': ['계정 만들기', 'Create account'],
  'accounts.password': ['비밀번호 (10자 이상)', 'Password (10+ characters)'],
  'accounts.resetPassword': ['비밀번호 재설정', 'Reset password'],
  'accounts.newPasswordOf': ['{name}의 새 비밀번호', 'New password for {name}'],
  'accounts.save': ['저장', 'Save'],
  'accounts.you': ['나', 'you'],
  'accounts.added': ['{name} 계정을 만들었습니다.', 'Created {name}.'],
  'accounts.roleChanged': ['{name}의 역할을 바꿨습니다 (로그아웃됨).', 'Changed the role of {name} (logged out).'],
  'accounts.passwordReset': ['{name}의 비밀번호를 바꿨습니다 (로그아웃됨).', 'New password for {name} (logged out).'],
  'accounts.removed': ['{name} 계정을 지웠습니다.', 'Removed {name}.'],
  'role.hostName': ['진행자', 'Host'],
  'role.producerName': ['제작자', 'Producer'],
  'role.captionerName': ['자막 속기사', 'Captioner'],

  'report.back': ['제작 데스크로', 'Back to the producer desk'],
  'report.kicker': ['방송 리포트', 'Broadcast report'],
  'report.messages': ['채팅 메시지', 'Chat messages'],
  'report.hearts': ['하트', 'Hearts'],
  'report.busiest': ['가장 붐빈 분', 'Busiest minute'],
  'report.csv': ['CSV 내보내기', 'Export CSV'],
  'report.perMinute': ['분 단위 기록', 'Minute by minute'],
  'report.minute': ['시각 (서울)', 'Time (Seoul)'],
  'report.empty': ['기록된 숫자가 없습니다.', 'Nothing was recorded.'],
  'produce.importRefused': ['가져오지 않았습니다 (아무것도 바뀌지 않음):', 'Nothing imported (no change):'],
  'produce.saved': ['저장했습니다.', 'Saved.'],
  'produce.deleted': ['삭제했습니다.', 'Deleted.'],
  'produce.empty': ['편성된 방송이 없습니다.', 'Nothing scheduled.'],
  'produce.noStats': ['지표를 불러올 수 없습니다.', 'No numbers available.'],
  'produce.minutes': ['분', 'min'],
  'produce.conflictWith': ['다른 방송과 시간이 겹칩니다: 「{title}」 ({when})', 'The times overlap 「{title}」 ({when}).'],
  'produce.col.time': ['시간', 'Time'],
  'produce.col.title': ['방송', 'Program'],
  'countdown.days': ['{n}일', '{n}d'],

  'err.network_error': ['서버에 연결할 수 없습니다.', 'The server could not be reached.'],
  'err.invalid_credentials': ['아이디 또는 비밀번호가 틀렸습니다.', 'Wrong username or password.'],
  'err.too_many_attempts': ['로그인 실패가 너무 많습니다. 몇 분 뒤 다시 시도하세요.', 'Too many failed logins; try again in a few minutes.'],
  'err.not_authenticated': ['먼저 로그인하세요.', 'Log in first.'],
  'err.forbidden': ['권한이 없습니다.', 'You are not allowed to do this.'],
  'err.invalid_setup_token': ['설정 링크가 유효하지 않거나 이미 사용되었습니다.', 'This setup link is not valid or was used already.'],
  'err.already_set_up': ['제작자 계정이 이미 있습니다. 로그인하세요.', 'A producer account exists already; log in.'],
  'err.invalid_username': ['아이디는 영문 소문자, 숫자, . _ - 로 2~32자입니다.', 'A username is 2-32 characters: lowercase letters, digits, . _ -'],
  'err.invalid_password': ['비밀번호는 10자 이상이어야 합니다.', 'A password is at least 10 characters long.'],
  'err.username_taken': ['이미 있는 아이디입니다.', 'That username is taken.'],
  'err.csrf_failed': ['보안 확인에 실패했습니다. 페이지를 새로 고치세요.', 'Security check failed; reload the page.'],
  'err.conflict': ['다른 방송과 시간이 겹칩니다.', 'This overlaps another program.'],
  'err.version_conflict': ['다른 사람이 먼저 수정했습니다. 새로 고친 뒤 다시 시도하세요.', 'Someone else changed it first; reload and try again.'],
  'err.not_found': ['찾을 수 없습니다.', 'Not found.'],
  'err.rate_limited': ['너무 빠릅니다. 잠시 후 다시 보내세요.', 'Too fast; wait a moment.'],
  'err.slow_mode': ['슬로우 모드입니다. 잠시 후 다시 보내세요.', 'Slow mode is on; wait a moment.'],
  'err.timed_out': ['일시적으로 채팅이 제한되었습니다.', 'You are timed out for a while.'],
  'err.banned': ['채팅이 차단되었습니다.', 'You are banned from the chat.'],
  'err.read_only': ['채팅이 닫혔습니다.', 'The chat is closed.'],
  'err.generic': ['요청을 처리하지 못했습니다.', 'The request failed.'],
  'err.program_conflict': ['다른 방송과 시간이 겹칩니다.', 'The times overlap another program.'],
  'err.program_not_found': ['방송을 찾을 수 없습니다.', 'No such program.'],
  'err.no_program': ['예정된 방송이 없습니다.', 'Nothing is scheduled.'],
  'err.unknown_host': ['그런 진행자 계정이 없습니다.', 'No such host account.'],
  'err.invalid_duration': ['방송 길이는 1분에서 12시간 사이여야 합니다 (종료가 시작보다 뒤).', 'A program lasts 1 minute to 12 hours (end after start).'],
  'err.missing_field': ['필수 항목이 비어 있습니다.', 'A required field is missing.'],
  'err.invalid_field': ['입력값이 올바르지 않습니다.', 'A field is not valid.'],
  'err.invalid_datetime': ['날짜와 시각이 올바르지 않습니다.', 'The date or time is not valid.'],
  'err.control_character': ['제어 문자는 쓸 수 없습니다.', 'Control characters are not allowed.'],
  'err.payload_too_large': ['파일이나 내용이 너무 큽니다.', 'Too large.'],
  'err.blocked_word': ['금칙어가 들어 있어 보낼 수 없습니다.', 'Your message contains a blocked word.'],
  'err.message_deleted': ['진행자가 메시지를 삭제했습니다.', 'A moderator deleted your message.'],
  'err.unbanned': ['다시 채팅할 수 있습니다.', 'You can chat again.'],
  'err.empty_text': ['내용을 입력하세요.', 'Write something first.'],
  'err.text_too_long': ['너무 깁니다 (최대 300자).', 'Too long (300 characters at most).'],
  'err.not_joined': ['채팅방에 아직 들어가지 않았습니다.', 'Not in the chat room yet.'],
  'err.question_too_soon': ['질문은 30초에 한 번 할 수 있습니다.', 'One question every 30 s.'],
  'err.already_upvoted': ['이미 공감했습니다.', 'You upvoted this already.'],
  'err.already_voted': ['이미 투표했습니다.', 'You voted already.'],
  'err.poll_closed': ['투표가 마감되었습니다.', 'This poll is closed.'],
  'err.poll_open': ['진행 중인 투표를 먼저 마감하세요.', 'Close the open poll first.'],
  'err.invalid_choices': ['보기는 2~10개여야 합니다.', 'A poll has 2 to 10 choices.'],
  'err.unknown_room': ['그런 채팅방이 없습니다.', 'No such room.'],
  'err.invalid_stream_key': ['스트림 키가 맞지 않습니다.', 'The stream key is wrong.'],
  'err.reserved_nickname': ['진행자나 제작진처럼 보이는 닉네임은 쓸 수 없습니다. 다른 이름을 골라 주세요.', 'This nickname looks like a host\'s or the studio\'s; pick another.'],
  'err.last_producer': ['마지막 제작자 계정은 지우거나 역할을 바꿀 수 없습니다.', 'The last producer account cannot be removed or demoted.'],
  'err.own_account': ['자기 계정의 역할 변경과 삭제는 다른 제작자에게 부탁하세요.', 'Ask another producer to change or remove your own account.'],
  'err.user_not_found': ['그런 계정이 없습니다.', 'No such account.'],
  'err.invalid_role': ['역할은 진행자 또는 제작자입니다.', 'A role is host or producer.'],
  'err.not_publishing': ['지금 송출하는 사람이 없습니다.', 'Nobody is publishing right now.'],
  'err.unknown_question': ['그런 질문이 없습니다.', 'No such question.'],
  'err.unknown_hall': ['그런 전시관이 없습니다.', 'No such hall.'],
  'err.program_not_started': ['아직 시작하지 않은 방송입니다.', 'This program has not started yet.'],
  'err.starts_in_past': ['지난 시각에는 방송을 만들 수 없습니다.', 'A program cannot start in the past.'],
  'err.unsupported_offer': ['이 송출 방식은 지원하지 않습니다.', 'This kind of stream is not supported.'],
  'err.replay_not_ready': ['바꿀 다시보기가 없습니다.', 'There is no replay to change.'],
  'err.invalid_trim': ['시작은 끝보다 앞이어야 하고 녹화 안이어야 합니다.', 'The in point must be before the out point, within the recording.'],
};

// Codes whose server message adds facts (which program conflicts, which field is wrong):
// the Korean line is followed by the server's own words.
const DETAILED = new Set(['conflict', 'program_conflict', 'overlap', 'invalid_field', 'missing_field', 'invalid_datetime',
  'unknown_host', 'slow_mode', 'version_conflict', 'unsupported_offer', 'invalid_trim', 'starts_in_past']);

let lang = readLang();
const listeners = new Set();

function readLang() {
  try {
    return localStorage.getItem(STORAGE_KEY) === 'en' ? 'en' : 'ko';
  } catch {
    return 'ko';
  }
}

export function currentLang() {
  return lang;
}

export function t(key, vars = {}) {
  const entry = DICT[key];
  let text = entry ? (lang === 'en' ? entry[1] : entry[0]) : key;
  if (text && typeof text === 'object') {
    const n = Number(vars.n);
    text = text[PLURALS[lang].select(Number.isFinite(n) ? n : 0)] ?? text.other;
  }
  for (const [name, value] of Object.entries(vars)) {
    const shown = typeof value === 'number' ? NUMBERS[lang].format(value) : String(value);
    text = text.split(`{${name}}`).join(shown);
  }
  return text;
}

/** A number written the reader's way (1,234). */
export function fmtNumber(n) {
  return NUMBERS[lang].format(n);
}

export function has(key) {
  return Object.prototype.hasOwnProperty.call(DICT, key);
}

/**
 * The one user-facing line for anything a page caught: an ApiError (api.js), an AckError
 * (socket.js), a WHIP/WHEP HttpSignalError, a DOMException or any other throw. Korean first;
 * a 409 `program_conflict` names the program in the way and its Seoul times.
 */
export function errText(err) {
  if (!err || typeof err !== 'object' || err.code === undefined) return errorText({ message: String(err) });
  const conflict = err.code === 'program_conflict' && err.body && err.body.error && err.body.error.conflict;
  if (conflict && conflict.title) {
    const when = `${fmtDay(conflict.starts_at, lang)} ${fmtTime(conflict.starts_at, lang)}–${fmtTime(conflict.ends_at, lang)}`;
    return t('produce.conflictWith', { title: conflict.title, when });
  }
  return errorText(err);
}

function errorText(err) {
  const message = (err && err.message) || '';
  // DOMExceptions carry a numeric code: their name and message say more.
  if (err && err.code !== undefined && typeof err.code !== 'string') return `${err.name || 'Error'}: ${message}`;
  if (!err || !err.code) return message || t('err.generic');
  const code = err.code;
  const key = `err.${code}`;
  if (has(key)) {
    const known = t(key);
    if ((DETAILED.has(code) || (err && err.status === 409 && code !== 'already_set_up' && code !== 'username_taken'))
        && message && message !== known) {
      return `${known} — ${message}`;
    }
    return known;
  }
  if (err && err.status === 409 && message) return `${t('err.conflict')} — ${message}`;
  return message || t('err.generic');
}

/** More dictionary entries ({key: [korean, english]}): a page module brings its own words. */
export function extend(entries) {
  Object.assign(DICT, entries);
}

/** Fills every [data-i18n*] element under root from the dictionary. */
export function apply(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
}

export function setLang(next) {
  lang = next === 'en' ? 'en' : 'ko';
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // private mode: the choice lasts for this page only
  }
  apply();
  for (const fn of listeners) fn(lang);
}

export function onLangChange(fn) {
  listeners.add(fn);
}

export function offLangChange(fn) {
  listeners.delete(fn);
}

/** Wires the page's language button (#lang) and translates the page once. */
export function init() {
  apply();
  const button = document.getElementById('lang');
  if (button) {
    button.addEventListener('click', () => setLang(lang === 'ko' ? 'en' : 'ko'));
  }
}
