"""The live-call assist pipeline: caller turns in, an AgentAssist out (no Streamlit inside)."""
