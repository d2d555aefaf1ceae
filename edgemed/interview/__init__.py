"""The triage interview: what to ask next, given what is known."""

from edgemed.interview.state import (
    AGE,
    DISCRIMINATOR,
    EMERGENCY,
    PREGNANCY,
    VITAL,
    InterviewState,
    Question,
    answer_finding,
    interview_state,
    next_question,
    questions,
)

__all__ = [
    "AGE",
    "DISCRIMINATOR",
    "EMERGENCY",
    "PREGNANCY",
    "VITAL",
    "InterviewState",
    "Question",
    "answer_finding",
    "interview_state",
    "next_question",
    "questions",
]
