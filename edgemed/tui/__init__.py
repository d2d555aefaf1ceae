"""The nurse's app (Textual). The only place textual is imported; it talks to edgemed.service."""
