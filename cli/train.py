"""``policydesk train sentiment|routing|ranker|guard``: the models trained at set-up."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from services.root import Services


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``train`` command and its subcommands."""
    from chatbot.learned_training import (
        DEFAULT_AUTHOR_SETS,
        DEFAULT_MESSAGES,
        DEFAULT_OUT,
        DEFAULT_RULES,
        DEFAULT_TRAIN,
        FOLDS,
    )

    train = sub.add_parser(
        "train", help="train a model (caller emotion, chatbot routing, card ranker, guard judge)"
    )
    which = train.add_subparsers(dest="train_command", required=True)

    sentiment = which.add_parser("sentiment", help="the caller-emotion classifier")
    sentiment.add_argument(
        "--if-stale", action="store_true", help="do nothing when the artefact is up to date"
    )
    sentiment.add_argument(
        "--extra-corpus",
        type=Path,
        action="append",
        default=[],
        help="a labels,text conversation corpus for the polarity stage (repeatable)",
    )

    routing = which.add_parser("routing", help="the chatbot's learned handoff detector")
    routing.add_argument("--out", type=Path, default=DEFAULT_OUT, help="artefact folder")
    routing.add_argument("--train", type=Path, default=DEFAULT_TRAIN)
    routing.add_argument(
        "--messages",
        type=Path,
        default=DEFAULT_MESSAGES,
        help="routing evaluation set; only its dev part (id %% 3 != 0) is used",
    )
    routing.add_argument("--folds", type=int, default=FOLDS)
    routing.add_argument(
        "--author-set",
        type=Path,
        action="append",
        help="labelled messages by another author, held out whole in cross-validation "
        "(repeatable; default: " + ", ".join(p.name for p in DEFAULT_AUTHOR_SETS) + ")",
    )
    routing.add_argument(
        "--no-author-sets",
        action="store_true",
        help="train on our own messages only, with stratified folds",
    )
    routing.add_argument(
        "--rules",
        type=Path,
        default=DEFAULT_RULES,
        help="routing rules; the threshold is chosen for rules and detector together",
    )
    routing.add_argument(
        "--if-stale", action="store_true", help="do nothing when the artefact is up to date"
    )

    ranker = which.add_parser(
        "ranker", help="the learned card ranker, from the labelled questions and calls"
    )
    ranker.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_RANKER_DATA,
        help="folder of questions_*.jsonl and calls_*.jsonl (docs/retrieval_labelling.md)",
    )
    ranker.add_argument(
        "--out", type=Path, default=None, help="artefact folder (default: the configured one)"
    )

    guard = which.add_parser(
        "guard", help="the compliance guard's learned sentence judge, from labelled replies"
    )
    guard.add_argument(
        "--data",
        type=Path,
        default=None,
        help="folder of labelled reply files *.jsonl (default: the configured one; "
        "docs/compliance_labelling.md)",
    )
    guard.add_argument(
        "--out", type=Path, default=None, help="artefact folder (default: the configured one)"
    )
    guard.add_argument(
        "--if-stale", action="store_true", help="do nothing when the artefact is up to date"
    )


DEFAULT_RANKER_DATA = Path(__file__).resolve().parent.parent / "data" / "retrieval"


def cmd_train(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    """Train the chosen model (``--if-stale``: only when its inputs changed)."""
    if args.train_command == "sentiment":
        return _sentiment(services, args, out)
    if args.train_command == "ranker":
        return _ranker(services, args, out)
    if args.train_command == "guard":
        return _guard(services, args, out)
    return _routing(services, args, out)


def _ranker(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    target = args.out or services.settings.ranker_model

    def say(message: str) -> None:
        out.write(message + "\n")
        out.flush()

    manifest = services.train_card_ranker(args.data, target, say=say)
    out.write(
        f"card ranker trained into {target}: {manifest.questions} questions, "
        f"{manifest.call_turns} call turns, authors {', '.join(manifest.authors)}\n"
    )
    for name, value in manifest.cross_validation.items():
        out.write(f"  held-out-author hit@3 {name}: {value:.3f}\n")
    return 0


def _guard(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    from compliance.training import summary

    trainer = services.guard_trainer(args.data, args.out)
    target = args.out or services.settings.guard_model
    if args.if_stale and not trainer.is_stale():
        out.write(f"guard judge up to date at {target}\n")
        return 0

    def say(message: str) -> None:
        out.write(message + "\n")
        out.flush()

    manifest = trainer.train(say=say)
    out.write(f"guard judge trained into {target}\n")
    out.write("\n".join(summary(manifest)) + "\n")
    return 0


def _sentiment(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    from sentiment.artefact import manifest_summary

    trainer = services.sentiment_trainer
    if args.if_stale and not trainer.is_stale(args.extra_corpus):
        out.write(f"caller-emotion model up to date at {services.settings.sentiment_model}\n")
        return 0
    manifest = trainer.train(args.extra_corpus)
    out.write(
        f"caller-emotion model trained into {services.settings.sentiment_model}: "
        f"{manifest_summary(manifest)}\n"
    )
    return 0


def _routing(services: Services, args: argparse.Namespace, out: TextIO) -> int:
    from chatbot.learned_training import HandoffTrainer, default_author_sets, summary
    from core.errors import PolicyDeskError

    if args.folds < 2:
        raise PolicyDeskError(f"--folds must be at least 2, got {args.folds}")
    authors = () if args.no_author_sets else tuple(args.author_set or default_author_sets())
    trainer = HandoffTrainer(
        args.train,
        args.messages,
        args.out,
        services.training_embedder,
        args.folds,
        args.rules,
        authors,
    )
    if args.if_stale and not trainer.is_stale():
        out.write(f"handoff detector up to date at {args.out}\n")
        return 0
    manifest = trainer.train()
    out.write(f"handoff detector trained into {args.out}\n")
    out.write("\n".join(summary(manifest)) + "\n")
    return 0


COMMANDS = {"train": cmd_train}
