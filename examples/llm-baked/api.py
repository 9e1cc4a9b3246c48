"""The request and response bodies of the submission contract (the 2023 samples' api.py, completed).

Unknown request keys are ignored, as pydantic v1 did in 2023, so a newer harness field never breaks us.
"""
from typing import Dict, List, Optional

from pydantic import BaseModel, ConfigDict, Field


class ProcessRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    prompt: str
    num_samples: int = 1
    max_new_tokens: int = Field(default=50, ge=1)
    top_k: int = 200
    temperature: float = 0.8
    seed: Optional[int] = None
    echo_prompt: Optional[bool] = None
    stop_sequences: List[str] = []
    top_k_per_token: int = Field(default=1, ge=1, le=20)


class Token(BaseModel):
    text: str
    logprob: float
    top_logprob: Dict[str, float]


class ProcessResponse(BaseModel):
    text: str
    tokens: List[Token]
    logprob: float
    request_time: float


class TokenizeRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    text: str
    truncation: bool = True
    max_length: int = 2048


class TokenizeResponse(BaseModel):
    tokens: List[int]
    request_time: float


class DecodeRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    tokens: List[int]


class DecodeResponse(BaseModel):
    text: str
    request_time: float
