"""Demo data for the console chat: a team with a month of made-up drill history."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from bot.assistant import Assistant
from bot.drills import shuffled_options
from bot.models import Role
from bot.schedule import after_answer

DEMO_TEAM = "演示组"
DEMO_STAFF = [(101, "王芳"), (102, "李强"), (103, "Chen Jing"), (104, "赵敏")]
DEMO_GAPS = ["客户问外币现钞能不能直接存进理财账户", "ATM吞卡后多久能领回", "how to handle a power cut at the branch"]


async def seed(assistant: Assistant, demo_user: int, now: datetime) -> None:
    """Once per database: the team, four staff, 30 days of drills, a few knowledge gaps."""
    store = assistant.store
    if await store.team(DEMO_TEAM) is not None:
        return
    await store.add_team(DEMO_TEAM, now)
    await store.add_supervisor(demo_user, DEMO_TEAM)
    rng = random.Random(7)
    items = list(assistant.library.kb.items.values())
    for user_id, name in DEMO_STAFF:
        await store.upsert_person(user_id, name, {Role.STAFF}, now - timedelta(days=40))
        await store.set_team(user_id, DEMO_TEAM)
        skill = rng.uniform(0.5, 0.9)
        for days_ago in range(30, 0, -1):
            day = now - timedelta(days=days_ago)
            if day.weekday() >= 5 or rng.random() > skill + 0.1:
                continue
            chosen = rng.sample(items, 3)
            drill = await store.start_drill(user_id, day, [(i.id, shuffled_options(i, rng))
                                                          for i in chosen])
            for n, item in enumerate(chosen):
                right = rng.random() < skill
                pick = item.correct.id if right else next(o.id for o in item.options
                                                           if not o.correct)
                await store.answer_drill(user_id, drill.id, n, pick, day + timedelta(minutes=n),
                                         assistant.training.lookup, after_answer)
        for text in rng.sample(DEMO_GAPS, 2):
            await store.log_question(user_id, now - timedelta(days=rng.randint(1, 20)), text,
                                     "none", None, 0.0, [])
