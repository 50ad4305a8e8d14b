"""Adapters: the ports' implementations (stores, platform APIs, metrics, clock).

Each adapter package stands alone: `sqlite`, `instagram`, `tiktok` and `prometheus` never
import one another; what they share (`http`, `crypto`, `clock`) sits beside them.
"""
