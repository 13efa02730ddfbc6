"""EUMEX Assistant: grounded answers about EU research funding from the EU–Mexico angle."""

__version__ = "0.1.0"
