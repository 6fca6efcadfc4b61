// Work in progress (model-core issue): strand info.
