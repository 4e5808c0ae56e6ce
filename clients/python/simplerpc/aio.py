"""placeholder"""
class AsyncClient: pass
