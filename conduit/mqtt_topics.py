"""MQTT topic filters as IoT rules and subscriptions read them: `+` one level, `#` the rest."""

from __future__ import annotations


def topic_matches(topic_filter: str, topic: str) -> bool:
    levels, names = topic_filter.split("/"), topic.split("/")
    for n, level in enumerate(levels):
        if level == "#":
            return True
        if n >= len(names) or level not in ("+", names[n]):
            return False
    return len(levels) == len(names)
