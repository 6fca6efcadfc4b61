// Work in progress (model-core issue); see the header.
