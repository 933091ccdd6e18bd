"""Everything the bot says that is not a card, in both languages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from bot.models import Lang

STRINGS: dict[str, tuple[str, str]] = {
    # key: (zh, en)
    "greeting": ("您好，{name}！我是柜面教练 Counter Coach。",
                 "Hello, {name}! I'm Counter Coach."),
    "help": (
        "直接输入您的问题，例如“客户说手续费多扣了”或“老人要转钱到安全账户”，我会先告诉您现在该做什么；步骤、话术、何时上报、切勿点按钮查看。\n\n"
        "命令：\n/drill 开始 2–3 分钟小测\n/due 我该复训的内容\n/progress 我的学习进度\n"
        "/topics 按章节浏览卡片\n/card ID 查看一张卡片（/card ID full 看全文）\n/remind HH:MM 每日提醒时间（/remind off 关闭）\n"
        "/pause 工作日数 请假暂停提醒\n/lang zh|zh-Hant|zh-TW|en 切换语言\n/whoami 我的身份\n/help 帮助",
        "Type your question, e.g. \"customer says we overcharged a fee\" or \"old man wants to move "
        "money to a 'safe account'\", and I'll tell you what to do right now; steps, what to "
        "say, when to escalate and what never to do are one tap away.\n\nCommands:\n/drill a 2–3 minute quiz\n/due what I must "
        "refresh\n/progress my progress\n/topics browse cards by section\n/card ID show one card (/card ID full: all of it)\n"
        "/remind HH:MM daily reminder time (/remind off to stop)\n/pause DAYS pause reminders (working days)\n"
        "/lang zh|zh-Hant|zh-TW|en language\n/whoami who I am\n/help this help",
    ),
    "help_supervisor": ("主管命令：\n/summary [团队] [7d|30d|90d] 团队汇总\n/export [团队] [7d|30d|90d] 导出 CSV（默认 30d）\n"
                        "/items [团队] [7d|30d|90d] 小测题目分析\n/nudge [团队] 提醒逾期人员（每人每天一次）",
                        "Supervisor commands:\n/summary [TEAM] [7d|30d|90d] team summary\n"
                        "/export [TEAM] [7d|30d|90d] CSV export (default 30d)\n"
                        "/items [TEAM] [7d|30d|90d] how each drill question is answered\n"
                        "/nudge [TEAM] remind people with overdue topics (once a day each)"),
    "help_admin": ("管理员命令：\n/team add 名称 建团队\n/invite 团队 staff|supervisor 生成邀请码\n"
                   "/people [团队] 人员列表\n/staffno 用户ID 工号 设置工号\n/move 用户ID 团队\n/remove 用户ID\n/reload 重新加载知识库\n/learn 审核问法建议",
                   "Administrator commands:\n/team add NAME create a team\n"
                   "/invite TEAM staff|supervisor invite code\n/people [TEAM] list people\n"
                   "/staffno USER_ID NUMBER set a staff number\n"
                   "/move USER_ID TEAM\n/remove USER_ID\n/reload re-read the knowledge base\n"
                   "/learn review suggested ways of asking"),
    "did_you_mean": ("您想问的是以下哪一项？", "Which of these topics do you mean?"),
    "no_match": ("抱歉，知识库里暂时没有这个问题的答案，已记录下来交给内容负责人补充。可以换个说法再问，或输入 /help、/topics 浏览。\n"
                 "客户在柜台前而您拿不准时：先暂停办理，请主管或大堂经理确认。",
                 "Sorry, the knowledge base has no answer for that yet; I've noted it for the "
                 "content owners. Try other words, or see /help and /topics.\n"
                 "Customer at the counter and you're unsure: pause the transaction and ask "
                 "your supervisor or lobby manager."),
    "empty": ("请输入文字问题，例如“客户说利息算少了”。", "Please type a question, e.g. \"customer says the interest is too low\"."),
    "text_only": ("我只能读文字消息，请用文字输入问题。", "I can only read text messages - please type your question."),
    "feedback_up": ("谢谢反馈！", "Thanks for the feedback!"),
    "feedback_down": ("谢谢，已记录，内容负责人会改进这张卡片。", "Thanks - noted for the content owners to improve this card."),
    "alternatives": ("谢谢，已记录。是不是以下哪一张？", "Thanks - noted. Is it one of these?"),
    "none_of_these": ("都不是", "None of these"),
    "learn_empty": ("没有待审核的建议。", "No suggestions to review."),
    "learn_head": ("待审核的建议（最常见的在前）：问题 ➜ 选中的卡片。接受后，这样的问法会直接匹配到该卡片。",
                   "Suggestions to review, most frequent first: question ➜ the card people picked. "
                   "Accepted, that way of asking matches the card at once."),
    "learn_accepted": ("✅ #{id} 已接受：“{question}”", "✅ #{id} accepted: “{question}”"),
    "learn_rejected": ("❌ #{id} 已拒绝：“{question}”", "❌ #{id} rejected: “{question}”"),
    "learn_done": ("#{id} 已经处理过了。", "#{id} was already decided."),
    "feedback_done": ("已收到反馈。", "Feedback received."),
    "unknown_command": ("没有这个命令，输入 /help 查看可用命令。", "Unknown command - see /help."),
    "card_usage": ("用法：/card 卡片ID，例如 /card dispute.fee；/card dispute.fee full 看全文。输入 /topics 浏览全部。",
                   "Usage: /card ID, e.g. /card dispute.fee; /card dispute.fee full shows all of it. See /topics for all cards."),
    "no_card": ("没有这张卡片：{id}。输入 /topics 浏览全部。", "No card {id}. See /topics for all cards."),
    "topics": ("请选择章节：", "Choose a section:"),
    "section_cards": ("{section} 的卡片：", "Cards in {section}:"),
    "lang_usage": ("用法：/lang zh（简体）、/lang zh-Hant（繁体，香港）、/lang zh-TW（繁体，台湾）、/lang en，"
                   "或 /lang auto（按每条消息的语言回复）",
                   "Usage: /lang zh (simplified Chinese), /lang zh-Hant (traditional, Hong Kong), "
                   "/lang zh-TW (traditional, Taiwan), /lang en, or /lang auto (reply in the "
                   "language of each message)"),
    "lang_auto": ("好的，以后按您每条消息的语言回复。",
                  "OK, I'll reply in the language of each message from now on."),
    "lang_set": ("好的，以后用中文回复。", "OK, I'll reply in English from now on."),
    "stale_button": ("这个按钮已过期，请重新提问或输入 /help。", "That button has expired - ask again or see /help."),
    "privacy_warning": ("提醒：请不要在这里粘贴客户的姓名、卡号、身份证号、手机号等信息，已自动隐去。",
                        "Reminder: please don't paste customer names or card, ID or phone numbers "
                        "here - I've masked them."),
    "error": ("抱歉，出了点问题，请稍后再试。", "Sorry, something went wrong - please try again."),
    "not_enrolled": ("您还未加入。请向主管索取邀请码，然后发送 /start 邀请码。",
                     "You're not enrolled yet. Ask your supervisor for an invite code, then send /start CODE."),
    "drill_title": ("小测 {n}/{total}", "Drill {n}/{total}"),
    "drill_right": ("✅ 答对了！", "✅ Correct!"),
    "drill_wrong": ("❌ 不对。正确答案：{answer}", "❌ Not quite. The answer: {answer}"),
    "drill_open_card": ("📖 查看卡片", "📖 Open the card"),
    "drill_score": ("本次小测完成：{score}", "Drill done: {score}"),
    "drill_next_due": ("接下来要复训：{titles}", "Next due: {titles}"),
    "drill_all_current": ("目前没有到期的复训内容，继续保持！", "Nothing is due for refresher training - well done!"),
    "drill_new_left": ("目前没有到期的复训内容；还有 {new} 个主题尚未学习，下次小测会继续。",
                       "Nothing is due for refresher training; {new} topics not drilled yet - "
                       "the next drill goes on with them."),
    "drill_ended": ("这次小测已经结束，输入 /drill 开始新的小测。", "That drill has ended - send /drill to start a new one."),
    "drill_already": ("这题已经记录过了。", "That answer is already recorded."),
    "drill_empty": ("知识库里还没有小测题目。", "The knowledge base has no drill questions yet."),
    "drill_resume": ("继续上次未完成的小测：", "Picking up your unfinished drill:"),
    "you_chose": ("您的选择：{choice}", "Your answer: {choice}"),
    "due_none": ("目前没有到期或逾期的内容。尚未学习的主题：{new} 个，输入 /drill 开始。",
                 "Nothing is due or overdue. Topics not yet drilled: {new} - send /drill to start."),
    "due_head": ("需要复训的内容（最早到期在前）：", "Due for refresher training (soonest first):"),
    "due_line": ("{mark} {title} — {status}，{since} 起", "{mark} {title} - {status} since {since}"),
    "status_due": ("到期", "due"),
    "status_overdue": ("逾期", "overdue"),
    "status_new": ("未学", "new"),
    "status_current": ("已通过", "current"),
    "due_new": ("另有 {new} 个主题尚未学习。", "Plus {new} topics not yet drilled."),
    "progress": ("连续学习：{streak} 个工作日\n完成小测：{drills} 次\n答题：{answers} 道，正确率 {accuracy}",
                 "Streak: {streak} working day(s)\nDrills done: {drills}\nAnswers: {answers}, accuracy {accuracy}"),
    "progress_sections": ("各章节正确率：", "Accuracy by section:"),
    "progress_none": ("还没有答题记录，输入 /drill 开始第一次小测。", "No answers yet - send /drill for your first drill."),
    "remind_now": ("每日提醒：工作日 {at}。/remind HH:MM 修改时间，/remind off 关闭。",
                   "Daily reminder: {at} on working days. /remind HH:MM changes it, /remind off stops it."),
    "remind_none": ("每日提醒已关闭。/remind HH:MM 重新打开，例如 /remind 09:00。",
                    "Daily reminders are off. /remind HH:MM turns them on, e.g. /remind 09:00."),
    "remind_usage": ("用法：/remind 09:00 设置每日提醒时间，/remind off 关闭。",
                     "Usage: /remind 09:00 sets your daily reminder, /remind off stops it."),
    "remind_set": ("好的，工作日 {at} 提醒您做小测。", "OK - I'll invite you to a drill at {at} on working days."),
    "remind_off": ("已关闭每日提醒，随时可以输入 /drill。", "Daily reminders are off; /drill works any time."),
    "pause_usage": ("用法：/pause 工作日数（1–60），例如请假一周 /pause 5；/pause off 恢复提醒。",
                    "Usage: /pause DAYS (1-60 working days), e.g. /pause 5 for a week of leave; /pause off to resume."),
    "pause_set": ("已暂停提醒 {n} 个工作日，至 {until}（{weekday}，含）；{back}（{back_weekday}）起恢复。",
                  "Reminders paused for {n} working day(s): until {until} ({weekday}) inclusive; back on {back} ({back_weekday})."),
    "pause_off": ("已恢复每日提醒。", "Daily reminders resumed."),
    "invite": ("早上好！今天的 2 分钟小测准备好了。", "Good morning! Today's 2-minute drill is ready."),
    "invite_button": ("开始小测", "Start the drill"),
    "private_only": ("这个功能请在与我的私聊中使用。", "Please use this in a private chat with me."),
    "sum_head": ("团队 {team} 汇总（{start} 至 {end}）", "Team {team} summary ({start} to {end})"),
    "sum_completion": ("完成率（有小测的工作日 / 应训工作日）：{rate}", "Completion (drill days / working days due): {rate}"),
    "sum_people": ("人员：", "People:"),
    "sum_person": ("• {name}：{days}/{expected} 天，小测 {drills} 次，正确率 {accuracy}，到期 {due}，逾期 {overdue}，最近活动 {last}",
                   "• {name}: {days}/{expected} days, {drills} drills, accuracy {accuracy}, due {due}, overdue {overdue}, last active {last}"),
    "sum_nobody": ("（团队暂无成员）", "(no members yet)"),
    "sum_weakest": ("最薄弱的主题（至少 {n} 次作答，正确率很可能低于 {below}）：",
                    "Weakest topics (at least {n} answers, very likely under {below} right):"),
    "sum_gaps": ("知识库答不上的问题（按次数）：", "Questions the knowledge base could not answer (most frequent first):"),
    "sum_none": ("（无）", "(none)"),
    "chart_completion": ("完成率（有小测的天数 / 应训工作日）", "Completion (drill days / working days due)"),
    "chart_accuracy": ("各章节正确率（作答次数）", "Accuracy by section (answers)"),
    "chart_answers": ("{pct} ({n} 次)", "{pct} (n={n})"),
    "chart_no_data": ("暂无数据", "No data yet"),
    "chart_lowest": ("（{total} 人中完成率最低的 {n} 人）", "(the {n} lowest of {total})"),
    "chart_title": ("团队 {team}：{start} 至 {end}，完成率 {rate}", "Team {team}: {start} to {end}, completion {rate}"),
    "no_teams": ("还没有可查看的团队。", "There is no team you can see yet."),
    "no_such_team": ("没有团队 {team}。", "No team {team}."),
    "period_bad": ("统计周期只能是 7d、30d 或 90d，例如 30d。", "The period is 7d, 30d or 90d, e.g. 30d."),
    "not_your_team": ("您不是团队 {team} 的主管，无权查看。", "You don't supervise team {team}, so you can't see it."),
    "whoami": ("{name}（ID {id}）\n工号：{staff_no}\n角色：{roles}\n团队：{team}\n主管团队：{supervises}\n语言：{lang_set}\n每日提醒：{remind}\n暂停至：{paused}",
               "{name} (id {id})\nStaff number: {staff_no}\nRoles: {roles}\nTeam: {team}\nSupervises: {supervises}\nLanguage: {lang_set}\nDaily reminder: {remind}\nPaused until: {paused}"),
    "teams_list": ("团队：{teams}", "Teams: {teams}"),
    "team_usage": ("用法：/team add 名称（字母、数字、中文、- _ .，最多 40 字）；/team list 查看全部。",
                   "Usage: /team add NAME (letters, digits, - _ ., up to 40); /team list shows all."),
    "team_exists": ("团队 {team} 已存在。", "Team {team} already exists."),
    "team_added": ("已创建团队 {team}。用 /invite {team} staff 生成邀请码。", "Team {team} created. Use /invite {team} staff for an invite code."),
    "invite_usage": ("用法：/invite 团队 staff|supervisor", "Usage: /invite TEAM staff|supervisor"),
    "invite_made": ("邀请码：{code}\n团队 {team}，角色 {role}，{until} 前有效，仅可使用一次。\n请对方向我发送：/start {code}",
                    "Invite code: {code}\nTeam {team}, role {role}, valid until {until}, single use.\nThey send me: /start {code}"),
    "invite_bad": ("邀请码无效、已使用或已过期，请向主管重新索取。", "That invite code is not valid, used or expired - ask for a new one."),
    "joined": ("欢迎加入团队 {team}！", "Welcome to team {team}!"),
    "staffno_usage": ("用法：/staffno 用户ID 工号（例如 /staffno 104 E12345；用 - 清除）",
                      "Usage: /staffno USER_ID NUMBER (e.g. /staffno 104 E12345; - clears it)"),
    "staffno_bad": ("工号 {value} 不对：只能用字母、数字和 . _ -，最多 32 位。",
                    "Staff number {value} is not valid: letters, digits and . _ - only, up to 32."),
    "staffno_taken": ("工号 {value} 已经属于 {id}，未作修改。", "Staff number {value} already belongs to {id}; nothing changed."),
    "staffno_set": ("{id} {name} 的工号：{value}（之后的学习记录用这个工号上报）。",
                    "{id} {name}: staff number {value} (used in learning records from now on)."),
    "people_head": ("人员 {first}–{last}，共 {total} 人", "People {first}–{last} of {total}"),
    "people_team": ("（团队 {team}）", " (team {team})"),
    "page_prev": ("◀ 上一页", "◀ Previous"),
    "page_next": ("下一页 ▶", "Next ▶"),
    "move_usage": ("用法：/move 用户ID 团队", "Usage: /move USER_ID TEAM"),
    "remove_usage": ("用法：/remove 用户ID", "Usage: /remove USER_ID"),
    "remove_self": ("不能删除自己，请使用 /leave。", "You can't remove yourself - use /leave."),
    "no_such_person": ("没有用户 {id}。", "No person with id {id}."),
    "moved": ("已将 {id} 调到团队 {team}。", "Moved {id} to team {team}."),
    "removed": ("已删除 {id} 的数据（保留匿名统计）。", "Removed {id}'s data (anonymous counts kept)."),
    "remove_confirm": ("确定删除 {name}（ID {id}，团队 {team}）及其全部学习记录吗？（匿名统计会保留）",
                       "Remove {name} (id {id}, team {team}) and erase their training records? (anonymous counts are kept)"),
    "remove_yes": ("确定删除", "Yes, remove"),
    "leave_confirm": ("确定要退出并删除您的全部学习记录吗？（匿名统计会保留）", "Leave and erase all your training records? (anonymous counts are kept)"),
    "leave_yes": ("确定删除", "Yes, erase"),
    "left": ("已删除您的数据。再见！", "Your data is erased. Goodbye!"),
    "export_usage": ("用法：/export [团队] [7d|30d|90d]", "Usage: /export [TEAM] [7d|30d|90d]"),
    "summary_usage": ("用法：/summary [团队] [7d|30d|90d]", "Usage: /summary [TEAM] [7d|30d|90d]"),
    "chart_caption": ("{team} 图表", "{team} chart"),
    "export_caption": ("各人各主题状态（Excel 可直接打开）", "Each person's topics (opens in Excel)"),
    "export_people_caption": ("各人完成率 {start} 至 {end}（Excel 可直接打开）", "Completion per person, {start} to {end} (opens in Excel)"),
    "csv_total": ("团队合计", "Team total"),
    "nudge": ("提醒：您有 {n} 个主题已逾期未复训，花 2 分钟做个小测吧。", "Reminder: {n} topics are overdue for refresher training - a 2-minute drill will help."),
    "nudged": ("已提醒 {n} 位有逾期主题的同事。", "Reminded {n} people with overdue topics."),
    "nudged_before": ("另有 {n} 位今天已经提醒过，不再重复发送。", "{n} more were reminded earlier today and are not sent it again."),
    "not_allowed": ("您没有使用这个命令的权限。", "You don't have permission for that command."),
    "reloaded": ("知识库已重新加载：{n} 张卡片。", "Knowledge base reloaded: {n} cards."),
    "reload_failed": ("知识库有问题，继续使用原来的卡片。问题：\n{problems}", "The knowledge base has problems; the old cards keep serving. Problems:\n{problems}"),
    "now": ("现在先做：", "Right now:"),
    "btn_steps": ("步骤", "Steps"),
    "btn_say": ("话术", "What to say"),
    "btn_escalate": ("上报", "Escalate"),
    "btn_never": ("切勿", "Never"),
    "btn_about": ("背景", "Background"),
    "btn_related": ("相关", "Related"),
    "head_steps": ("步骤：", "Steps:"),
    "head_say": ("怎么说：", "What to say:"),
    "head_escalate": ("何时上报：", "When to escalate:"),
    "head_never": ("切勿：", "Never:"),
    "head_related": ("相关卡片：", "Related cards:"),
    "head_about": ("背景：", "Background:"),
    "back": ("◀ 返回", "◀ Back"),
    "all_sections": ("◀ 全部章节", "◀ All sections"),
    "cut": ("…（太长，其余请看 /card {id} full）", "… (too long: see /card {id} full for the rest)"),
    "card_gone": ("这张卡片已不在知识库里（可能已更新或删除），请重新提问或输入 /topics。",
                  "That card is no longer in the knowledge base (updated or removed) - ask again or see /topics."),
    "fb_up": ("👍 有用", "👍 Helpful"),
    "fb_down": ("👎 没用", "👎 Not helpful"),
    "items_usage": ("用法：/items [团队] [7d|30d|90d]", "Usage: /items [TEAM] [7d|30d|90d]"),
    "items_head": ("{team} 小测题目分析（{start} 至 {end}，卡片当前版本）",
                   "Drill questions, {team} ({start} to {end}, current card versions)"),
    "items_all": ("全部团队", "all teams"),
    "items_totals": ("作答 {answers} 次，涉及 {items} 道题；{judged} 道有至少 {n} 次作答，可以判断。",
                     "{answers} answers to {items} questions; {judged} have at least {n} answers and can be judged."),
    "items_rule": ("标记（至少 {n} 次作答）：正确率 ≥ {easy} 为“太简单”；正确率 ≤ {unclear}，或某个错误选项比正确答案选得多，为“可能不清楚”。",
                   "Flags (at least {n} answers): too easy = {easy} or more right; unclear = {unclear} or fewer right, or a wrong option chosen more often than the right one."),
    "items_unclear": ("⚠️ 可能不清楚：", "⚠️ Unclear:"),
    "items_easy": ("✅ 太简单：", "✅ Too easy:"),
    "items_missed": ("答错最多的题：", "Most wrong answers:"),
    "items_line": ("• {question}（{item}）：正确率 {pct}（{ok}/{n}）", "• {question} ({item}): {pct} right ({ok}/{n})"),
    "items_wrong": ("；最常选错：“{option}” ×{k}", "; most chosen wrong: \"{option}\" ×{k}"),
    "items_none": ("这段时间还没有作答。", "No answers in this period yet."),
    "items_file": ("每道题的完整数据（含旧版本）见 CSV 文件。", "Every question, older card versions too, is in the CSV file."),
    "items_caption": ("小测题目分析（Excel 可直接打开）", "Drill questions (opens in Excel)"),
    "flag_easy": ("太简单", "too easy"),
    "flag_unclear": ("可能不清楚", "unclear"),
    "flag_few": ("作答太少", "too few answers"),
}

# CSV column headers: key -> (zh, en)
COLUMNS: dict[str, tuple[str, str]] = {
    "team": ("团队", "Team"), "person": ("姓名", "Person"), "user_id": ("用户ID", "User id"),
    "topic": ("主题ID", "Topic id"), "title": ("主题", "Topic"), "section": ("章节", "Section"),
    "status": ("状态", "Status"), "last_passed": ("最近通过", "Last passed"),
    "passed_version": ("通过的版本", "Version passed"),
    "current_version": ("当前版本", "Current version"), "answers": ("作答次数", "Answers"),
    "accuracy": ("正确率", "Accuracy"), "start": ("起", "From"), "end": ("止", "To"),
    "drill_days": ("有小测的天数", "Drill days"), "expected_days": ("应训工作日", "Working days due"),
    "completion": ("完成率", "Completion"), "drills": ("完成小测", "Drills completed"),
    "due": ("到期主题", "Topics due"), "overdue": ("逾期主题", "Topics overdue"),
    "last_active": ("最近活动", "Last active"), "item": ("题目ID", "Question id"),
    "version": ("卡片版本", "Card version"), "question": ("题目", "Question"),
    "correct": ("答对", "Right"), "top_wrong": ("最常选的错误选项", "Most chosen wrong option"),
    "top_wrong_n": ("该选项次数", "Times chosen"), "flag": ("提示", "Flag"),
}
WEEKDAYS = list(zip(["周一", "周二", "周三", "周四", "周五", "周六", "周日"],
                    ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], strict=True))

SECTION_NAMES = {
    "basics": ("基础服务要求", "Basic service requirements"),
    "skills": ("专业技能", "Professional skills"),
    "process": ("服务流程", "Service process"),
    "complaints": ("投诉与应急", "Complaints and emergencies"),
    "relationships": ("客户关系", "Customer relationships"),
    "assessment": ("考核跟踪", "Assessment and tracking"),
}


def t(key: str, lang: Lang, **values: object) -> str:
    """The string `key` in `lang` (traditional scripts converted), formatted with `values`
    (which are shown as given: names and team names are not converted)."""
    text = lang.pick(*STRINGS[key])
    return text.format(**values) if values else text


def columns(keys: Sequence[str], lang: Lang) -> list[str]:
    """CSV headers in the reader's language."""
    return [lang.pick(*COLUMNS[k]) for k in keys]


def weekday(day: date, lang: Lang) -> str:
    return lang.pick(*WEEKDAYS[day.weekday()])


def section_name(section: str, lang: Lang) -> str:
    zh, en = SECTION_NAMES.get(section, (section, section))
    return lang.pick(zh, en)
